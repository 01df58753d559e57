// Write paths and interrupted writes (issue 15): a checkpoint stays readable after a kill at ANY
// instant of its write (simulated by failing every file operation from the n-th on, for every n),
// with no --resume; the next save cleans up; a checkpoint or output path that is a link (dangling
// or not) is refused with one line and left alone; temp files of a dead writer are removed by
// the next write into that folder, a live writer's are not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readCheckpoint, readStyleInfo, writeCheckpoint } from '../../src/io/checkpoint';
import { writeFileAtomic } from '../../src/io/output';
import { loadStyle } from '../../src/engine/styles';
import { StyleTransferError } from '../../src/protocol/errors';
import { runKilledAfter } from '../helpers/freezeFs';
import { tempDir } from '../helpers/paths';
import { runFst } from '../helpers/cli';
import { TINY_ARCH, seededWeights, tinyStyleInfo, writeTinyStyle } from '../robustness/lib/styles';

const info = (name: string) => tinyStyleInfo(name);
const extra = { extraFiles: { 'thumbnail.jpg': Buffer.from('thumb') } };

test(
  'a checkpoint stays readable (old or new, without --resume) after a kill between any two file operations of its write',
  { timeout: 120_000 },
  async () => {
    const root = tempDir('fst-kill-');
    const hashOf = async (w: number) => {
      const d = path.join(root, `ref-${w}`);
      await writeCheckpoint(d, info(`ref-${w}`), seededWeights(TINY_ARCH, w));
      return (await readCheckpoint(d)).weightsHash;
    };
    const [oldHash, newHash] = [await hashOf(1), await hashOf(2)];
    const probe = path.join(root, 'probe', 'ck');
    await writeCheckpoint(probe, info('old'), seededWeights(TINY_ARCH, 1), extra);
    const steps = await runKilledAfter(Number.POSITIVE_INFINITY, () =>
      writeCheckpoint(probe, info('new'), seededWeights(TINY_ARCH, 2), extra),
    );
    assert.ok(steps >= 15, `a write makes ${steps} file operations`);
    const seen = { old: 0, new: 0, absent: 0 };
    for (const replacing of [true, false]) {
      for (let n = 0; n <= steps; n++) {
        const parent = path.join(root, `${replacing ? 'r' : 'c'}${n}`);
        const dir = path.join(parent, 'ck');
        if (replacing) await writeCheckpoint(dir, info('old'), seededWeights(TINY_ARCH, 1), extra);
        await runKilledAfter(n, () => writeCheckpoint(dir, info('new'), seededWeights(TINY_ARCH, 2), extra));
        // What a fresh `fst info` / stylize does first.
        let hash: string | undefined;
        try {
          hash = (await loadStyle(dir)).hash;
        } catch (e) {
          assert.ok(
            !replacing,
            `kill after ${n} of ${steps} operations: the replaced checkpoint does not load (${(e as Error).message})`,
          );
          assert.ok(e instanceof StyleTransferError && e.code === 'not-found', String(e));
        }
        if (hash) {
          assert.ok(hash === oldHash || hash === newHash, `kill after ${n}: weights are neither old nor new`);
          assert.ok(replacing || hash === newHash);
          seen[hash === oldHash ? 'old' : 'new']++;
          assert.equal((await readStyleInfo(dir)).name, hash === oldHash ? 'old' : 'new');
          if (hash === oldHash || fs.existsSync(path.join(dir, 'thumbnail.jpg')))
            assert.equal(fs.readFileSync(path.join(dir, 'thumbnail.jpg'), 'utf8'), 'thumb');
        } else seen.absent++;
        // The next save succeeds and leaves nothing of the interrupted one.
        await writeCheckpoint(dir, info('next'), seededWeights(TINY_ARCH, 3));
        assert.equal((await readStyleInfo(dir)).name, 'next');
        assert.deepEqual(fs.readdirSync(parent), ['ck'], `kill after ${n}: leftovers after the next save`);
      }
    }
    assert.ok(seen.old > 0 && seen.new > 0 && seen.absent > 0, JSON.stringify(seen));
  },
);

test(
  'a checkpoint or output path that is a link (dangling or not), a file or a FIFO is refused with one line and left as it was',
  { timeout: 60_000 },
  async () => {
    const root = tempDir('fst-links-');
    const other = await writeTinyStyle(path.join(root, 'other'));
    const before = fs.readdirSync(other).sort();
    fs.writeFileSync(path.join(root, 'file'), 'x');
    const targets: Record<string, () => void> = {
      dangling: () => fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'dangling')),
      'to-checkpoint': () => fs.symlinkSync(other, path.join(root, 'to-checkpoint')),
      'to-file': () => fs.symlinkSync(path.join(root, 'file'), path.join(root, 'to-file')),
    };
    for (const [name, make] of Object.entries(targets)) {
      make();
      const link = path.join(root, name);
      const target = fs.readlinkSync(link);
      await assert.rejects(
        writeCheckpoint(link, info('x'), seededWeights(TINY_ARCH, 1)),
        (e: unknown) =>
          e instanceof StyleTransferError &&
          e.code === 'output-exists' &&
          /is a symbolic link; not writing a checkpoint there/.test(e.message) &&
          !e.message.includes('\n'),
      );
      for (const overwrite of [false, true]) {
        await assert.rejects(
          writeFileAtomic(link, Buffer.from('y'), { overwrite }),
          (e: unknown) => e instanceof StyleTransferError && e.code === 'output-exists',
        );
      }
      assert.equal(fs.readlinkSync(link), target, `${name}: the link is left as it was`);
      // fst export -o <link>: one line, exit 1, nothing written through the link.
      const r = await runFst(['export', other, '-o', link]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.split('\n').length, 1, r.stderr);
      assert.equal(fs.readlinkSync(link), target);
    }
    await assert.rejects(
      writeCheckpoint(path.join(root, 'file'), info('x'), seededWeights(TINY_ARCH, 1)),
      /is not a folder; not writing a checkpoint there/,
    );
    assert.equal(fs.readFileSync(path.join(root, 'file'), 'utf8'), 'x');
    assert.deepEqual(fs.readdirSync(other).sort(), before);
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    await assert.rejects(
      writeCheckpoint(path.join(root, 'fifo'), info('x'), seededWeights(TINY_ARCH, 1)),
      /is not a folder; not writing a checkpoint there/,
    );
    assert.ok(fs.lstatSync(path.join(root, 'fifo')).isFIFO());
    assert.ok(!fs.existsSync(path.join(root, 'nowhere')), 'nothing was created through the dangling link');
  },
);

test("temp files of a dead writer are removed by the next write into that folder; a live writer's, links and foreign names are kept", async () => {
  const dir = tempDir('fst-leftovers-');
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(child.stdout);
  const dead = [`.photo.mine.png.0123456789ab.${deadPid}.tmp`, `.clip.mine.mp4.ba9876543210.${deadPid}.tmp`];
  for (const n of dead) fs.writeFileSync(path.join(dir, n), 'half a file');
  fs.mkdirSync(path.join(dir, `.export.aaaaaaaaaaaa.${deadPid}.tmp`));
  const kept = [
    `.photo.mine.png.0123456789ab.${process.pid}.tmp`,
    '.notes.tmp',
    'photo.tmp',
    `.x.bbbbbbbbbbbb.${deadPid}.old`,
  ];
  for (const n of kept) fs.writeFileSync(path.join(dir, n), 'keep');
  fs.symlinkSync('/etc/hostname', path.join(dir, `.link.cccccccccccc.${deadPid}.tmp`));
  await writeFileAtomic(path.join(dir, 'out.png'), Buffer.from('new'));
  assert.deepEqual(fs.readdirSync(dir).sort(), [...kept, `.link.cccccccccccc.${deadPid}.tmp`, 'out.png'].sort());
});
