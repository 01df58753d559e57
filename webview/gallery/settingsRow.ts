// The preview's controls: strength and colours (composited in the page, no job), and in the
// panel the blend control (blendControl.ts, passed in), the output scale with the size it gives
// and the output format. Owns those fields of the UI state; says what changed through events.
import type { ColorMode, OutputFormat } from '../../src/protocol/jobs';
import { formatCount, h, icon } from './dom';
import { FORMAT_LABELS, SCALES, type UiState } from './state';

const COLOR_LABELS: Record<ColorMode, string> = {
  none: 'From the style',
  luminance: 'Keep original',
  histogram: 'Match original',
};
const COLOR_HINTS: Record<ColorMode, string> = {
  none: "The painting's colours",
  luminance: "The style's light and texture, the photo's colours exactly",
  histogram: "The style's colour variety, shifted to the photo's palette",
};

type Select = HTMLElement & { value: string };

export interface SettingsRowEvents {
  persist(): void;
  /** Strength or colours changed: repaint the preview. */
  lookChanged(): void;
  /** The output scale changed (a full-size preview depends on it). */
  scaleChanged(): void;
}

export class SettingsRow {
  readonly element: HTMLElement;
  private readonly strengthInput: HTMLInputElement;
  private readonly strengthValue: HTMLElement;
  private readonly colorSelect: Select;
  private readonly scaleSelect: Select | undefined;
  private readonly formatSelect: Select | undefined;
  private readonly outputSize: HTMLElement | undefined;
  private sourceSize: { width: number; height: number } | undefined;

  /** `blend`: the blend control's element, in the panel only (which also has scale and format). */
  constructor(
    private readonly state: Pick<UiState, 'strength' | 'colorMode' | 'scale' | 'format'>,
    blend: HTMLElement | undefined,
    events: SettingsRowEvents,
  ) {
    this.strengthInput = h('input', {
      type: 'range',
      id: 'strength',
      min: 0,
      max: 100,
      step: 1,
      value: Math.round(state.strength * 100),
      'aria-label': 'Style strength',
    });
    this.strengthValue = h('output', { class: 'value', for: 'strength' }, `${Math.round(state.strength * 100)}%`);
    this.strengthInput.addEventListener('input', () => {
      state.strength = Number(this.strengthInput.value) / 100;
      this.strengthValue.textContent = `${this.strengthInput.value}%`;
      this.updateRangeFill();
      events.persist();
      events.lookChanged();
    });
    this.colorSelect = h(
      'vscode-single-select',
      { id: 'colors', 'aria-label': 'Colours' },
      ...(['none', 'luminance', 'histogram'] as const).map((c) =>
        h('vscode-option', { value: c, selected: state.colorMode === c, description: COLOR_HINTS[c] }, COLOR_LABELS[c]),
      ),
    ) as Select;
    this.colorSelect.addEventListener('change', () => {
      state.colorMode = this.colorSelect.value as ColorMode;
      events.persist();
      events.lookChanged();
    });

    const strengthRow = h(
      'div',
      { class: 'control control-wide' },
      h('label', { for: 'strength', class: 'control-label' }, icon('flame'), 'Strength'),
      h(
        'div',
        { class: 'range-row' },
        h('span', { class: 'range-end', 'aria-hidden': 'true' }, 'Photo'),
        this.strengthInput,
        h('span', { class: 'range-end', 'aria-hidden': 'true' }, 'Style'),
        this.strengthValue,
      ),
    );
    const colorRow = h(
      'div',
      { class: 'control' },
      h('span', { class: 'control-label', id: 'colors-label' }, icon('symbol-color'), 'Colours'),
      this.colorSelect,
    );
    this.colorSelect.setAttribute('aria-labelledby', 'colors-label');
    this.element = h('div', { class: 'controls' }, strengthRow, blend ?? null, colorRow);
    if (!blend) return;

    const scaleSelect = h(
      'vscode-single-select',
      { id: 'scale', 'aria-label': 'Scale' },
      ...SCALES.map((s) =>
        h(
          'vscode-option',
          {
            value: String(s),
            selected: state.scale === s,
            description: s < 1 ? 'Larger brush strokes, faster' : s > 1 ? 'Finer strokes, slower' : undefined,
          },
          `${Math.round(s * 100)}%`,
        ),
      ),
    ) as Select;
    scaleSelect.addEventListener('change', () => {
      state.scale = Number(scaleSelect.value);
      events.persist();
      this.renderOutputSize();
      events.scaleChanged();
    });
    const formatSelect = h(
      'vscode-single-select',
      { id: 'format', 'aria-label': 'Output format' },
      ...(Object.keys(FORMAT_LABELS) as OutputFormat[]).map((f) =>
        h('vscode-option', { value: f, selected: state.format === f }, FORMAT_LABELS[f]),
      ),
    ) as Select;
    formatSelect.addEventListener('change', () => {
      state.format = formatSelect.value as OutputFormat;
      events.persist();
    });
    this.outputSize = h('span', { class: 'control-hint', id: 'output-size' });
    this.element.append(
      h(
        'div',
        { class: 'control' },
        h('span', { class: 'control-label' }, icon('screen-full'), 'Scale', this.outputSize),
        scaleSelect,
      ),
      h(
        'div',
        { class: 'control' },
        h('span', { class: 'control-label' }, icon('file-binary'), 'Format'),
        formatSelect,
      ),
    );
    this.scaleSelect = scaleSelect;
    this.formatSelect = formatSelect;
  }

  /** Shows the state's values (the host's settings arrived after the controls were built). */
  sync(): void {
    this.strengthInput.value = String(Math.round(this.state.strength * 100));
    this.strengthValue.textContent = `${Math.round(this.state.strength * 100)}%`;
    this.updateRangeFill();
    this.colorSelect.value = this.state.colorMode;
    if (this.formatSelect) this.formatSelect.value = this.state.format;
    if (this.scaleSelect) this.scaleSelect.value = String(this.state.scale);
  }

  /** The size of the image being previewed (not of the preview), for the output size beside Scale. */
  setSourceSize(width: number | undefined, height: number | undefined): void {
    this.sourceSize = width && height ? { width, height } : undefined;
    this.renderOutputSize();
  }

  private renderOutputSize(): void {
    if (!this.outputSize) return;
    const s = this.sourceSize;
    this.outputSize.textContent = s
      ? `${formatCount(s.width * this.state.scale)} × ${formatCount(s.height * this.state.scale)}`
      : '';
  }

  private updateRangeFill(): void {
    this.strengthInput.style.setProperty('--fill', `${this.strengthInput.value}%`);
  }
}
