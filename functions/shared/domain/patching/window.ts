/**
 * Maintenance windows: an EventBridge cron expression for the start, a duration and a time
 * zone. Pure: the time is always an argument.
 *
 * Supported cron: `cron(minutes hours day-of-month month day-of-week year)` with numbers, names
 * (JAN, SUN), `*`, `?`, lists, ranges and steps, `L` in day-of-month and `n#k` / `nL` in
 * day-of-week. `W` (nearest weekday) is refused: a window has to be computable here.
 */

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MINUTE_MS = 60_000;

/** the parsed cron: each field as the set of values it allows */
export interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  /** undefined: `?` (day-of-week decides) */
  daysOfMonth?: Set<number>;
  lastDayOfMonth: boolean;
  months: Set<number>;
  /** 1 = Sunday … 7 = Saturday, as EventBridge counts; undefined: `?` */
  daysOfWeek?: Set<number>;
  /** `2#1`: the first Monday; weekday → the k-th occurrences allowed */
  nthWeekday: Map<number, Set<number>>;
  /** `6L`: the last Friday of the month */
  lastWeekday: Set<number>;
  years?: Set<number>;
}

/** a cron the window math cannot compute */
export class UnsupportedCronError extends Error {
  override readonly name = 'UnsupportedCronError';
}

function value(token: string, min: number, max: number, names?: readonly string[]): number {
  const named = names?.indexOf(token.toUpperCase()) ?? -1;
  const n = named >= 0 ? named + min : /^\d+$/.test(token) ? Number(token) : NaN;
  if (!(n >= min && n <= max))
    throw new UnsupportedCronError(`"${token}" is not a value from ${min} to ${max}`);
  return n;
}

function field(text: string, min: number, max: number, names?: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : value(stepText, 1, max);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [min, max];
    else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      [lo, hi] = [value(a, min, max, names), value(b, min, max, names)];
    } else {
      lo = value(range, min, max, names);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/**
 * @throws UnsupportedCronError for anything but a cron(...) expression this module can compute
 */
export function parseCron(expression: string): Cron {
  const m = /^cron\((.*)\)$/.exec(expression.trim());
  if (!m) throw new UnsupportedCronError(`"${expression}" is not a cron(...) expression`);
  const parts = m[1]!.trim().split(/\s+/);
  if (parts.length !== 6) throw new UnsupportedCronError(`"${expression}" needs six fields`);
  const [min, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  if (/W/i.test(dom)) throw new UnsupportedCronError('W (nearest weekday) is not supported in a window');
  const cron: Cron = {
    minutes: field(min, 0, 59),
    hours: field(hour, 0, 23),
    lastDayOfMonth: dom === 'L',
    months: field(month, 1, 12, MONTHS),
    nthWeekday: new Map(),
    lastWeekday: new Set(),
    years: year === '*' ? undefined : field(year, 1970, 2199),
  };
  if (dom !== '?' && dom !== 'L') cron.daysOfMonth = field(dom, 1, 31);
  if (dow !== '?') {
    const plain: string[] = [];
    for (const item of dow.split(',')) {
      const nth = /^(\w+)#([1-5])$/.exec(item);
      const last = /^(\w+)L$/.exec(item);
      if (nth) {
        const d = value(nth[1]!, 1, 7, DAYS);
        const set = cron.nthWeekday.get(d) ?? new Set<number>();
        set.add(Number(nth[2]));
        cron.nthWeekday.set(d, set);
      } else if (last) cron.lastWeekday.add(value(last[1]!, 1, 7, DAYS));
      else plain.push(item);
    }
    cron.daysOfWeek = plain.length > 0 ? field(plain.join(','), 1, 7, DAYS) : new Set();
  }
  if (cron.daysOfMonth === undefined && !cron.lastDayOfMonth && cron.daysOfWeek === undefined) {
    throw new UnsupportedCronError('one of day-of-month and day-of-week must name days');
  }
  return cron;
}

/** wall-clock fields of an instant in a time zone */
interface Local {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 1 = Sunday … 7 = Saturday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localTime(at: number, timeZone: string): Local {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(at)) parts[p.type] = p.value;
  return {
    year: Number(parts['year']),
    month: Number(parts['month']),
    day: Number(parts['day']),
    hour: Number(parts['hour']),
    minute: Number(parts['minute']),
    weekday: DAYS.indexOf(String(parts['weekday']).toUpperCase()) + 1,
  };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dayMatches(cron: Cron, t: Local): boolean {
  if (!cron.months.has(t.month)) return false;
  if (cron.years && !cron.years.has(t.year)) return false;
  const last = daysInMonth(t.year, t.month);
  if (cron.lastDayOfMonth) return t.day === last;
  if (cron.daysOfMonth) return cron.daysOfMonth.has(t.day);
  if (cron.daysOfWeek?.has(t.weekday)) return true;
  if (cron.nthWeekday.get(t.weekday)?.has(Math.ceil(t.day / 7))) return true;
  return cron.lastWeekday.has(t.weekday) && t.day + 7 > last;
}

/** does the cron fire at this local minute? */
function fires(cron: Cron, t: Local): boolean {
  return cron.minutes.has(t.minute) && cron.hours.has(t.hour) && dayMatches(cron, t);
}

export interface WindowSpec {
  schedule: string;
  durationMinutes: number;
  timeZone: string;
}

export interface Window {
  start: Date;
  end: Date;
}

/**
 * The window `at` is in: the latest start within `durationMinutes` before `at` (inclusive).
 * @returns undefined when `at` is outside every window
 * @throws UnsupportedCronError
 */
export function windowAt(spec: WindowSpec, at: Date): Window | undefined {
  const cron = parseCron(spec.schedule);
  const minute = Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS;
  for (let k = 0; k < spec.durationMinutes; k += 1) {
    const t = minute - k * MINUTE_MS;
    if (fires(cron, localTime(t, spec.timeZone))) {
      return { start: new Date(t), end: new Date(t + spec.durationMinutes * MINUTE_MS) };
    }
  }
  return undefined;
}

/**
 * The next window start strictly after `at`, looked for up to `horizonDays` ahead.
 * @throws UnsupportedCronError
 */
export function nextWindowStart(spec: WindowSpec, at: Date, horizonDays = 400): Date | undefined {
  const cron = parseCron(spec.schedule);
  const first = Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  // step through local hours; inside an hour whose day and hour match, try the cron's minutes
  const startLocal = localTime(first, spec.timeZone);
  let hourStart = first - startLocal.minute * MINUTE_MS;
  for (let h = 0; h < horizonDays * 24; h += 1, hourStart += 60 * MINUTE_MS) {
    const t = localTime(hourStart, spec.timeZone);
    if (!cron.hours.has(t.hour) || !dayMatches(cron, t)) continue;
    for (const m of [...cron.minutes].sort((a, b) => a - b)) {
      const candidate = hourStart + (m - t.minute) * MINUTE_MS;
      if (candidate >= first) return new Date(candidate);
    }
  }
  return undefined;
}

/**
 * When this run's window ends: the window `now` is in, or, for a manual run outside any window
 * (`now` flag), one window length from now.
 * @returns undefined when the window is closed and the run is not a manual `now` run
 */
export function runWindowEnd(spec: WindowSpec, now: Date, manual: boolean): Window | undefined {
  if (manual) return { start: now, end: new Date(now.getTime() + spec.durationMinutes * MINUTE_MS) };
  return windowAt(spec, now);
}

/** is there still room in the window for a node that takes `nodeMinutes`? */
export function windowOpenFor(windowEnd: Date, now: Date, nodeMinutes: number): boolean {
  return now.getTime() + nodeMinutes * MINUTE_MS <= windowEnd.getTime();
}
