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

export interface Series {
  /** Which panel the line is drawn in (one panel per quantity, e.g. time or bytes). */
  panel: string;
  /** The legend's name for the line, e.g. "swarm on". */
  name: string;
  /** A reference drawn dashed (a model or a bound) rather than a measurement. */
  reference?: boolean;
  /** Medians (or model values) by x; each run's value, if given, is drawn as a dot. */
  points: Array<{ x: number; y: number; runs?: number[] }>;
}

/**
 * Lines of medians against a count (x on a log-2 scale, ticks at the counts measured), each run
 * as a dot, references dashed; one panel per `panel`, titled by `yTitleByPanel`.
 */
export function lineChart(
  title: string,
  series: readonly Series[],
  xTitle: string,
  yTitleByPanel: Record<string, string>,
): VegaLiteSpec {
  const panels = [...new Set(series.map((s) => s.panel))];
  const names = [...new Set(series.map((s) => s.name))];
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const color = {
    field: 'series',
    type: 'nominal' as const,
    scale: { domain: names },
    title: null,
    legend: { labelLimit: 320 },
  };
  const panel = (name: string) => {
    const mine = series.filter((s) => s.panel === name);
    const x = {
      field: 'x',
      type: 'quantitative' as const,
      title: xTitle,
      scale: { type: 'log' as const, base: 2 },
      axis: { values: xs, format: 'd' },
    };
    const y = { field: 'y', type: 'quantitative' as const, title: yTitleByPanel[name] ?? name };
    return {
      width: 420,
      height: 240,
      layer: [
        {
          data: {
            values: mine.flatMap((s) =>
              s.points.map((p) => ({
                series: s.name,
                kind: s.reference ? 'reference' : 'measured',
                x: p.x,
                y: p.y,
              })),
            ),
          },
          mark: { type: 'line' as const, point: true },
          encoding: {
            x,
            y,
            color,
            strokeDash: {
              field: 'kind',
              type: 'nominal' as const,
              scale: {
                domain: ['measured', 'reference'],
                range: [
                  [1, 0],
                  [5, 4],
                ],
              },
              legend: null,
            },
          },
        },
        {
          data: {
            values: mine.flatMap((s) =>
              s.points.flatMap((p) => (p.runs ?? []).map((y) => ({ series: s.name, x: p.x, y }))),
            ),
          },
          mark: { type: 'point' as const, filled: true, size: 25, opacity: 0.6 },
          encoding: { x, y, color },
        },
      ],
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'lines: medians (dashed: references); dots: single runs' },
    vconcat: panels.map(panel),
    resolve: { scale: { color: 'shared' } },
  } as VegaLiteSpec;
}
