/**
 * Charts: a Vega-Lite spec compiled to Vega and rendered to SVG in Node with `View.toSVG()`
 * (no canvas, no browser). Also the few chart shapes the benchmarks share.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type VegaLiteSpec = TopLevelSpec;

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface Bar {
  /** The bar's label, e.g. "ours". */
  label: string;
  value: number;
  /** Groups bars into facets, e.g. the metric they measure. */
  group: string;
  /** Each run's value, drawn as dots over the bar so the spread is visible. */
  runs?: number[];
}

/** Horizontal bars of medians with each run as a dot, one panel per group (unit). */
export function barChart(
  title: string,
  bars: readonly Bar[],
  unitByGroup: Record<string, string>,
): VegaLiteSpec {
  const groups = [...new Set(bars.map((b) => b.group))];
  const panel = (group: string) => {
    const mine = bars.filter((b) => b.group === group);
    const unit = unitByGroup[group];
    const x = {
      field: 'value',
      type: 'quantitative' as const,
      title: unit ? `${group} (${unit})` : group,
    };
    const y = {
      field: 'label',
      type: 'nominal' as const,
      title: null,
      sort: null,
      axis: { labelLimit: 320 },
    };
    return {
      width: 420,
      layer: [
        {
          data: { values: mine.map((b) => ({ label: b.label, value: b.value })) },
          layer: [
            { mark: { type: 'bar' as const, color: '#4c78a8' }, encoding: { x, y } },
            {
              mark: { type: 'text' as const, align: 'left' as const, dx: 4 },
              encoding: {
                x,
                y,
                text: { field: 'value', type: 'quantitative' as const, format: '.3~r' },
              },
            },
          ],
        },
        {
          data: {
            values: mine.flatMap((b) => (b.runs ?? []).map((value) => ({ label: b.label, value }))),
          },
          mark: { type: 'point' as const, color: '#e45756', filled: true, size: 30 },
          encoding: { x, y },
        },
      ],
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'bars: medians; dots: single runs' },
    vconcat: groups.map(panel),
  } as VegaLiteSpec;
}
