import { parseConfig } from '../../../functions/shared/domain/config';
import { scheduleExpressionProblem } from '../../../functions/shared/domain/schedule-expression';
import { InvalidInputError } from '../../../functions/shared/errors';

describe('schedule expressions, as EventBridge Scheduler takes them', () => {
  it.each([
    'rate(1 minute)',
    'rate(5 minutes)',
    'rate(1 hour)',
    'rate(12 hours)',
    'rate(1 day)',
    'cron(0 3 * * ? *)',
    'cron(15 2 ? * MON-FRI *)',
    'cron(0/15 8-17 ? * 2-6 *)',
    'cron(0 4 L * ? *)',
    'cron(0 4 15W * ? 2027)',
    'cron(30 1 ? JAN,JUL 6L *)',
    'cron(0 9 ? * 3#2 *)',
    'cron(0 0 1 */2 ? 1970-2199)',
  ])('accepts %s', (expression) => {
    expect(scheduleExpressionProblem(expression)).toBeUndefined();
  });

  it.each([
    ['rate(0 minutes)', /at least 1/],
    ['rate(1 minutes)', /rate\(1 minute\)/],
    ['rate(5 hour)', /rate\(5 hours\)/],
    ['cron(a b c d e f)', /cron minutes: "a"/],
    ['cron(0 3 * * * *)', /exactly one of day-of-month and day-of-week must be "\?"/],
    ['cron(0 3 ? * ? *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 3 * *)', /6 fields/],
    ['cron(60 3 * * ? *)', /cron minutes: "60"/],
    ['cron(0 24 * * ? *)', /cron hours: "24"/],
    ['cron(0 3 * 13 ? *)', /cron month: "13"/],
    ['cron(0 3 ? * 8 *)', /cron day-of-week: "8"/],
    ['cron(0 3 * * ? 1969)', /cron year: "1969"/],
    ['cron(? 3 * * ? *)', /"\?" is allowed only in day-of-month and day-of-week/],
    ['every hour', /must be rate\(N unit\) or cron/],
  ])('rejects %s', (expression, why) => {
    expect(scheduleExpressionProblem(expression)).toMatch(why);
  });

  it('rejects a configuration whose schedule Scheduler would refuse, naming the field', () => {
    const config = {
      clusters: [
        { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1', backup: { schedule: 'rate(1 minutes)' } },
      ],
    };

    expect(() => parseConfig(config)).toThrow(InvalidInputError);
    expect(() => parseConfig(config)).toThrow(
      /clusters\[0\] \(prod-eu\)\.backup\.schedule: rate: write rate\(1 minute\)/,
    );
  });
});
