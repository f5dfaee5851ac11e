import { parseCommandResult, tail } from '../../../functions/shared/domain/command-result';
import { CommandFailedError } from '../../../functions/shared/errors';

describe('parseCommandResult', () => {
  it('reads the CARETAKER_RESULT line among other output', () => {
    const stdout = 'etcdctl says hi\nCARETAKER_RESULT {"healthy":true,"revision":42}\n';
    expect(parseCommandResult(stdout)).toEqual({ healthy: true, revision: 42 });
  });

  it('takes the last result line when a script printed more than one', () => {
    expect(parseCommandResult('CARETAKER_RESULT {"a":1}\nCARETAKER_RESULT {"a":2}')).toEqual({ a: 2 });
  });

  it('rejects output without a result line, quoting the output tail', () => {
    expect(() => parseCommandResult('only noise')).toThrow(CommandFailedError);
    expect(() => parseCommandResult('only noise')).toThrow(
      /no CARETAKER_RESULT line; stdout tail: only noise/,
    );
  });

  it('rejects a result line that is not JSON', () => {
    expect(() => parseCommandResult('CARETAKER_RESULT {oops')).toThrow(/is not JSON/);
  });

  it('rejects a result that is not an object', () => {
    expect(() => parseCommandResult('CARETAKER_RESULT [1,2]')).toThrow(/must hold a JSON object/);
  });
});

describe('tail', () => {
  it('keeps short text whole and cuts long text on a line boundary', () => {
    expect(tail('short')).toBe('short');
    const long = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    const t = tail(long, 50);
    expect(t.startsWith('…line')).toBe(true);
    expect(t.endsWith('line 99')).toBe(true);
    expect(t.length).toBeLessThanOrEqual(51);
  });
});
