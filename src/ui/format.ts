/**
 * Numbers as a locale writes them: counts, percentages, sizes, speeds and durations through
 * `Intl`, and the plural form a count takes, so a translation brings only its words and its locale
 * tag. The one place in the widget that formats bytes.
 */

/** The formatters of one locale. */
export interface Format {
  /** A whole number, such as a piece index or a count. */
  integer(n: number): string;
  /** `54%`, from a whole percentage. */
  percent(n: number): string;
  /**
   * The form of a word that goes with `n` by the locale's plural rules: `forms.one` for 1 in
   * English; a locale gives the forms its language has (`zero`, `two`, `few`, `many`…).
   */
  plural(n: number, forms: PluralForms): string;
  /** `1 byte`, `999 bytes`, `1.5 kB`, `67 MB`: decimal units, as file managers show them. */
  bytes(bytes: number): string;
  /** `2.5 MB/s`; '' for no speed. */
  speed(bytesPerSecond: number): string;
  /** `8 sec`, `2 min 5 sec`, `1 hr 3 min`: short, because it changes every second. */
  duration(seconds: number): string;
}

/** A word's forms by plural category; `other` is the one every language has. */
export type PluralForms = Partial<Record<Intl.LDMLPluralRule, string>> & { other: string };

const UNITS = ['kilobyte', 'megabyte', 'gigabyte', 'terabyte', 'petabyte'] as const;

/** A size in its unit: below 1000 bytes in bytes, above that in the largest unit under 1000. */
function scale(bytes: number): [value: number, unit: (typeof UNITS)[number] | 'byte'] {
  if (bytes < 1000) return [Math.round(bytes), 'byte'];
  let value = bytes / 1000;
  let unit = 0;
  // 999.96 kB would round to "1000 kB": it is 1 MB.
  while (value >= 999.95 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return [value, UNITS[unit]!];
}

function unitFormat(
  tag: string,
  unit: string,
  digits: number,
  display: 'long' | 'short' = 'short',
): Intl.NumberFormat {
  return new Intl.NumberFormat(tag, {
    style: 'unit',
    unit,
    unitDisplay: display,
    maximumFractionDigits: digits,
  });
}

/** One digit after the point under 10 (`1.5 kB`), none from 10 on (`67 MB`). */
function digitsFor(value: number): number {
  return value < 10 ? 1 : 0;
}

/** Formatters for `tag`. Each `Intl` object is made when first used, not when this is called. */
export function createFormat(tag: string): Format {
  const cache = new Map<string, Intl.NumberFormat>();
  const unit = (name: string, digits: number, display: 'long' | 'short' = 'short') => {
    const key = `${name}/${digits}/${display}`;
    let format = cache.get(key);
    if (!format) cache.set(key, (format = unitFormat(tag, name, digits, display)));
    return format;
  };
  let integer: Intl.NumberFormat | undefined;
  let percent: Intl.NumberFormat | undefined;
  let plurals: Intl.PluralRules | undefined;
  // "1 min 35 sec": the parts of a duration as the locale lists units.
  let parts: Intl.ListFormat | undefined;

  const sized = (bytes: number, suffix: string): string => {
    const [value, name] = scale(bytes);
    // Bytes spelled out ("1 byte", "999 bytes"); larger units abbreviated ("1.5 kB").
    if (name === 'byte') return unit(`byte${suffix}`, 0, suffix ? 'short' : 'long').format(value);
    return unit(`${name}${suffix}`, digitsFor(value)).format(value);
  };

  return {
    integer: (n) =>
      (integer ??= new Intl.NumberFormat(tag, { maximumFractionDigits: 0 })).format(n),
    percent: (n) => (percent ??= new Intl.NumberFormat(tag, { style: 'percent' })).format(n / 100),
    plural: (n, forms) => forms[(plurals ??= new Intl.PluralRules(tag)).select(n)] ?? forms.other,
    bytes(bytes) {
      if (!Number.isFinite(bytes) || bytes < 0) return '';
      return sized(bytes, '');
    },
    speed(bytesPerSecond) {
      if (!(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) return '';
      return sized(bytesPerSecond, '-per-second');
    },
    duration(seconds) {
      const s = Math.max(0, Math.round(seconds));
      const list = (...units: [string, number][]) =>
        (parts ??= new Intl.ListFormat(tag, { type: 'unit', style: 'narrow' })).format(
          units.filter(([, n]) => n > 0).map(([name, n]) => unit(name, 0).format(n)),
        );
      if (s < 60) return unit('second', 0).format(s);
      const m = Math.floor(s / 60);
      if (m < 60) return list(['minute', m], ['second', s % 60]);
      return list(['hour', Math.floor(m / 60)], ['minute', m % 60]);
    },
  };
}
