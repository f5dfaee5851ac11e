import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as errors from '../../functions/shared/errors';
import { ERROR_CLASSES, ERROR_NAMES } from '../../functions/shared/errors';

const ROOT = join(__dirname, '..', '..');

function sources(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'));
}

const code = sources(join(ROOT, 'functions'), '.ts').join('\n');
const machines = sources(join(ROOT, 'state-machines'), '.asl.json').join('\n');

describe('the named errors', () => {
  it('lists every exported error class, and derives the names from them', () => {
    const exported = Object.values(errors).filter(
      (v): v is (typeof ERROR_CLASSES)[number] =>
        typeof v === 'function' && v.prototype instanceof errors.CaretakerError,
    );

    expect([...ERROR_CLASSES].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      exported.sort((a, b) => a.name.localeCompare(b.name)),
    );
    expect(ERROR_NAMES).toEqual(ERROR_CLASSES.map((C) => C.name));
  });

  it.each(ERROR_CLASSES.map((C) => [C.name, C] as const))(
    '%s carries its own name, so minified code still matches ErrorEquals',
    (_name, C) => {
      expect(new C('x').name).toBe(C.name);
    },
  );

  it.each(ERROR_NAMES)('%s is raised somewhere: thrown by a function or by a Fail state', (name) => {
    const thrown = new RegExp(`new ${name}\\(`).test(code);
    const failState = machines.includes(`"Error": "${name}"`);

    expect(thrown || failState).toBe(true);
  });
});
