// The colour-statistics maths of "preserve colours: histogram matching", shared by the engine
// (src/model/color.ts, applied when saving) and the gallery webview (webview/gallery/composite.ts,
// applied live), so both recolour with the same matrix. Pure functions, no imports: every
// layer, the webview included, may use src/shared (DESIGN §3 as amended; see eslint.config.mjs).

/** Eigen-decomposition of a symmetric 3×3 matrix by Jacobi rotations. */
export function symmetricEigen(m: number[][]): { values: number[]; vectors: number[][] } {
  const a = m.map((r) => [...r]);
  const v = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[0][1] ** 2 + a[0][2] ** 2 + a[1][2] ** 2;
    if (off < 1e-20) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      if (Math.abs(a[p][q]) < 1e-30) continue;
      const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[k][p],
          akq = a[k][q];
        a[k][p] = c * akp - s * akq;
        a[k][q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[p][k],
          aqk = a[q][k];
        a[p][k] = c * apk - s * aqk;
        a[q][k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[k][p],
          vkq = v[k][q];
        v[k][p] = c * vkp - s * vkq;
        v[k][q] = s * vkp + c * vkq;
      }
    }
  }
  return { values: [a[0][0], a[1][1], a[2][2]], vectors: v };
}

/** M^power for a symmetric positive semi-definite 3×3 matrix (small eigenvalues regularised). */
export function symmetricPower(m: number[][], power: number): number[][] {
  const { values, vectors } = symmetricEigen(m);
  const out = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let k = 0; k < 3; k++) {
    const l = Math.max(values[k], 1e-6) ** power;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[i][j] += vectors[i][k] * l * vectors[j][k];
  }
  return out;
}

/**
 * A = Σc^½ · Σs^-½: maps colours of covariance `stylizedCov` (centred) to covariance
 * `contentCov`, the linear part of histogram matching.
 */
export function covarianceMatchMatrix(contentCov: number[][], stylizedCov: number[][]): number[][] {
  const cHalf = symmetricPower(contentCov, 0.5);
  const sInvHalf = symmetricPower(stylizedCov, -0.5);
  return [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => cHalf[i][0] * sInvHalf[0][j] + cHalf[i][1] * sInvHalf[1][j] + cHalf[i][2] * sInvHalf[2][j]),
  );
}
