/**
 * EventBridge Scheduler's rules for recurring schedule expressions, checked at the edge so a
 * bad `schedule` fails `config check` and synth instead of the deployment:
 * - `rate(value unit)`: a positive whole number; the unit minute|hour|day is singular for 1 and
 *   plural otherwise (`rate(1 minutes)` and `rate(5 hour)` are refused);
 * - `cron(minutes hours day-of-month month day-of-week year)`: each field's values and wildcards
 *   as the Scheduler documents them, and exactly one of day-of-month and day-of-week is `?`.
 */

interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** wildcards beyond `, - * /` */
  question?: boolean;
  /** day-of-month: L, LW, nW; day-of-week: nL, n#k */
  special?: 'day-of-month' | 'day-of-week';
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS: readonly CronField[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, question: true, special: 'day-of-month' },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, question: true, special: 'day-of-week' },
  { name: 'year', min: 1970, max: 2199 },
];

function isValue(token: string, f: CronField): boolean {
  if (f.names?.includes(token.toUpperCase())) return true;
  if (!/^\d+$/.test(token)) return false;
  const n = Number(token);
  return n >= f.min && n <= f.max;
}

function isRange(token: string, f: CronField): boolean {
  const parts = token.split('-');
  return parts.length === 2 && parts.every((p) => isValue(p, f));
}

function isItem(token: string, f: CronField): boolean {
  if (token === '*') return true;
  if (f.special === 'day-of-month') {
    if (token === 'L' || token === 'LW') return true;
    const w = /^(\d+)W$/.exec(token);
    if (w) return isValue(w[1]!, f);
  }
  if (f.special === 'day-of-week') {
    const last = /^(\w+)L$/.exec(token);
    if (last) return isValue(last[1]!, f);
    const nth = /^(\w+)#([1-5])$/.exec(token);
    if (nth) return isValue(nth[1]!, f);
  }
  const slash = token.split('/');
  if (slash.length === 2) {
    const [base, step] = slash as [string, string];
    const stepOk = /^\d+$/.test(step) && Number(step) >= 1;
    return stepOk && (base === '*' || isValue(base, f) || isRange(base, f));
  }
  return isValue(token, f) || isRange(token, f);
}

function cronProblem(fields: string[]): string | undefined {
  if (fields.length !== 6) {
    return `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
  }
  for (const [i, f] of FIELDS.entries()) {
    const text = fields[i]!;
    if (text === '?') {
      if (!f.question) return `cron ${f.name}: "?" is allowed only in day-of-month and day-of-week`;
      continue;
    }
    const bad = text.split(',').find((item) => !isItem(item, f));
    if (bad !== undefined) {
      return `cron ${f.name}: "${bad}" is not a value (${f.min}-${f.max}${f.names ? ` or ${f.names[0]}-${f.names.at(-1)}` : ''}) or wildcard allowed there`;
    }
  }
  const [dom, dow] = [fields[2], fields[4]];
  if ((dom === '?') === (dow === '?')) {
    return 'cron: exactly one of day-of-month and day-of-week must be "?" (the other says which days)';
  }
  return undefined;
}

function rateProblem(value: string, unit: string): string | undefined {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    return `rate: the value must be a whole number of at least 1, not ${value}`;
  const singular = unit.replace(/s$/, '');
  const wanted = n === 1 ? singular : `${singular}s`;
  if (unit !== wanted)
    return `rate: write rate(${n} ${wanted}); Scheduler wants the singular for 1, the plural otherwise`;
  return undefined;
}

/** @returns what EventBridge Scheduler would refuse in the expression, or undefined when it takes it */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) return rateProblem(rate[1]!, rate[2]!);
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return cronProblem(cron[1]!.trim().split(/\s+/));
  return 'must be rate(N unit) or cron(minutes hours day-of-month month day-of-week year), as EventBridge Scheduler takes it';
}
