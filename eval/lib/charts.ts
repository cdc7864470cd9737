/** Vega-Lite specifications rendered to SVG in Node (vega's headless View, no canvas: text widths
 * are estimated). One function per chart of the report. */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white', config: { font: 'sans-serif' } } as const;

export interface Point { [k: string]: string | number }

/** box plot (min–max whiskers) of one value per configuration; one panel (own x scale) per value
 * of `facet` when facetTitle is given */
export function boxPlot(title: string, values: Point[], field: string, axis: string, order: string[], cfgTitle = 'configuration', facetTitle?: string): TopLevelSpec {
  const layer = {
    mark: { type: 'boxplot', extent: 'min-max', size: 16 },
    encoding: {
      y: { field: 'cfg', type: 'nominal', sort: order, title: cfgTitle, axis: { labelLimit: 320 } },
      x: { field, type: 'quantitative', title: axis, scale: { zero: false } },
      color: { field: 'cfg', type: 'nominal', sort: order, legend: null },
    },
  };
  if (facetTitle) {
    return {
      ...base, title, data: { values }, facet: { column: { field: 'facet', type: 'nominal', title: facetTitle } },
      resolve: { scale: { x: 'independent' } }, spec: { width: 300, height: 28 * order.length, ...layer },
    } as TopLevelSpec;
  }
  return { ...base, title, width: 460, height: 28 * order.length, data: { values }, ...layer } as TopLevelSpec;
}

/** median vs a log-scaled parameter, one line per configuration, the p25–p75 band as error bars;
 * one panel per value of `facet` */
export function lineChart(title: string, values: Point[], xTitle: string, yTitle: string, order: string[], facetTitle: string): TopLevelSpec {
  return {
    ...base, title, data: { values },
    facet: { column: { field: 'facet', type: 'nominal', title: facetTitle } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300, height: 240,
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'x', type: 'quantitative', scale: { type: 'log' }, title: xTitle },
            y: { field: 'median', type: 'quantitative', scale: { type: 'log' }, title: yTitle },
            color: { field: 'cfg', type: 'nominal', sort: order, title: 'configuration' },
          },
        },
        {
          mark: { type: 'errorbar', ticks: true },
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            y: { field: 'p25', type: 'quantitative', title: yTitle },
            y2: { field: 'p75' },
            color: { field: 'cfg', type: 'nominal', sort: order },
          },
        },
      ],
    },
  } as TopLevelSpec;
}

/** a ratio per configuration (bar at the median, rule over the quartile-crossed spread, a line at 1) */
export function ratioChart(title: string, values: Point[], axis: string, order: string[], facetTitle?: string): TopLevelSpec {
  const layer = {
    layer: [
      {
        mark: { type: 'bar', height: 14 },
        encoding: {
          y: { field: 'cfg', type: 'nominal', sort: order, title: 'configuration', axis: { labelLimit: 320 } },
          x: { field: 'median', type: 'quantitative', title: axis },
          color: { field: 'cfg', type: 'nominal', sort: order, legend: null },
        },
      },
      {
        mark: { type: 'rule', color: 'black' },
        encoding: { y: { field: 'cfg', type: 'nominal', sort: order }, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } },
      },
      { mark: { type: 'rule', color: 'gray', strokeDash: [4, 3] }, encoding: { x: { datum: 1 } } },
    ],
  };
  if (facetTitle) {
    return { ...base, title, data: { values }, facet: { column: { field: 'facet', type: 'nominal', title: facetTitle } }, spec: { width: 300, height: 24 * order.length, ...layer } } as TopLevelSpec;
  }
  return { ...base, title, data: { values }, width: 420, height: 24 * order.length, ...layer } as TopLevelSpec;
}
