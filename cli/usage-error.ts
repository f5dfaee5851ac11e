/** kept apart from context.ts (which builds AWS clients) so the Slack receiver can share cli/args.ts */
/** a mistake in how the CLI was called: exit 2 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** the command whose --help would have helped */
    readonly command?: string,
  ) {
    super(message);
  }
}
