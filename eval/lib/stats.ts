/** Order statistics of one group of samples (linear interpolation between ranks, as bench/kernel.mjs). */
export interface Stats {
  n: number;
  median: number;
  p25: number;
  p75: number;
  min: number;
  max: number;
}

function quantile(sorted: readonly number[], p: number): number {
  const i = (sorted.length - 1) * p;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.ceil(i)] - sorted[lo]) * (i - lo);
}

export function stats(xs: readonly number[]): Stats | undefined {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  return { n: s.length, median: quantile(s, 0.5), p25: quantile(s, 0.25), p75: quantile(s, 0.75), min: s[0], max: s[s.length - 1] };
}

/** a / b of medians, with the quartile-crossed interval [a.p25 / b.p75, a.p75 / b.p25] as its spread */
export interface Ratio {
  median: number;
  lo: number;
  hi: number;
}

export function ratio(a: Stats | undefined, b: Stats | undefined): Ratio | undefined {
  if (!a || !b || b.median === 0 || b.p25 === 0 || b.p75 === 0) return undefined;
  return { median: a.median / b.median, lo: a.p25 / b.p75, hi: a.p75 / b.p25 };
}

export const fmtRatio = (r: Ratio | undefined): string =>
  r ? `${r.median.toFixed(3)} (${r.lo.toFixed(2)}–${r.hi.toFixed(2)})` : 'n/a';
