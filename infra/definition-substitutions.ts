/**
 * ASL files name their resources only as `${Substitutions}`. This checks, at synth, that the
 * names a file uses and the names infra provides are the same set, so a renamed or forgotten
 * substitution fails synth instead of failing the first execution.
 */

/** every `${Name}` placeholder in an ASL document, sorted */
export function placeholdersIn(definition: string): string[] {
  const names = new Set<string>();
  for (const match of definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)) names.add(match[1] as string);
  return [...names].sort();
}

/**
 * @returns `provided` as a plain record for `definitionSubstitutions`
 * @throws Error naming the file and every missing or unused substitution
 */
export function checkedSubstitutions<K extends string>(
  file: string,
  definition: string,
  provided: Record<K, string>,
): Record<string, string> {
  const used = placeholdersIn(definition);
  const given = Object.keys(provided).sort();
  const missing = used.filter((name) => !given.includes(name));
  const extra = given.filter((name) => !used.includes(name));
  const problems = [
    ...(missing.length ? [`uses \${${missing.join('}, ${')}} but infra provides no value`] : []),
    ...(extra.length ? [`never uses ${extra.join(', ')} that infra provides`] : []),
  ];
  if (problems.length) throw new Error(`state machine ${file} ${problems.join('; and ')}`);
  return { ...provided };
}
