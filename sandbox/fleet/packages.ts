/**
 * A sandbox node's package manager, as the recording stand-in (test/support/bin/pkg-stand-in)
 * plays it: what the node's os-release says it runs, which updates are pending, and the knobs
 * the patch tests need (leave the reboot-required signal, fail halfway). Everything lives under
 * the node's root, where the stand-in and os-patch read it; every invocation is recorded.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** the stand-ins: apt-get, dnf, yum, zypper and needs-restarting are links to one script */
export const PACKAGE_STAND_IN_DIR = resolve(__dirname, '..', '..', 'test', 'support', 'bin');

/** what the node's /etc/os-release says, and so which package manager os-patch uses */
export type Flavor = 'debian' | 'ubuntu' | 'rhel' | 'amazon' | 'suse';

const OS_RELEASE: Record<Flavor, string> = {
  debian: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
  ubuntu: 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n',
  rhel: 'PRETTY_NAME="Rocky Linux 9.5 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.5"\n',
  amazon: 'PRETTY_NAME="Amazon Linux 2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n',
  suse: 'PRETTY_NAME="SUSE Linux Enterprise Server 15 SP6"\nID="sles"\nID_LIKE="suse"\nVERSION_ID="15.6"\n',
};

/** which package manager each flavor's os-patch run uses (dnf where the stand-in offers it) */
export const MANAGER_OF: Record<Flavor, 'apt' | 'dnf' | 'zypper'> = {
  debian: 'apt',
  ubuntu: 'apt',
  rhel: 'dnf',
  amazon: 'dnf',
  suse: 'zypper',
};

export interface PendingUpdate {
  name: string;
  /** a security update (os-patch scope `security` installs only these); default true */
  security?: boolean;
  version?: string;
}

/** the updates every sandbox node starts with */
export const DEFAULT_UPDATES: PendingUpdate[] = [
  { name: 'openssl', security: true, version: '3.0.15-1' },
  { name: 'linux-image-amd64', security: true, version: '6.1.119-1' },
  { name: 'curl', security: false, version: '7.88.1-10' },
];

/** one recorded invocation: the tool's name and its exact arguments */
export interface PackageInvocation {
  tool: string;
  args: string[];
}

/** the package manager of one node (`FleetNode.packages`) */
export class NodePackages {
  private readonly state: string;

  constructor(readonly root: string) {
    this.state = join(root, 'var', 'lib', 'pkg-stand-in');
  }

  /** writes the node's /etc/os-release (and so chooses apt, dnf or zypper); default debian */
  setFlavor(flavor: Flavor): this {
    this.write(join(this.root, 'etc', 'os-release'), OS_RELEASE[flavor]);
    return this;
  }

  /** replaces the pending updates */
  offer(updates: readonly PendingUpdate[]): this {
    const lines = updates.map(
      (u) => `${u.name} ${u.security === false ? 'regular' : 'security'} ${u.version ?? '1.0.1'}\n`,
    );
    this.write(join(this.state, 'updates'), lines.join(''));
    return this;
  }

  /** an install leaves the distribution's reboot-required signal until the next boot */
  leaveRebootRequired(on = true): this {
    return this.flag('reboot-after-install', on ? '' : undefined);
  }

  /** an install fails after `count` packages (undefined: never) */
  failAfter(count: number | undefined): this {
    return this.flag('fail-after', count === undefined ? undefined : String(count));
  }

  /** the packages installed so far, in order */
  installed(): string[] {
    return this.lines(join(this.state, 'installed'));
  }

  /** every invocation of apt-get, dnf, yum, zypper and needs-restarting on this node, in order */
  invocations(): PackageInvocation[] {
    return this.lines(join(this.root, 'var', 'log', 'pkg-stand-in.log')).map((line) => {
      const [tool, ...args] = line.split('\t');
      return { tool: tool!, args: args.filter((a) => a !== '') };
    });
  }

  /** /var/run/reboot-required is there (Debian and Ubuntu's signal) */
  get rebootRequiredSentinel(): boolean {
    return existsSync(join(this.root, 'var', 'run', 'reboot-required'));
  }

  private flag(name: string, value: string | undefined): this {
    const file = join(this.state, name);
    if (value === undefined) rmSync(file, { force: true });
    else this.write(file, value);
    return this;
  }

  private lines(file: string): string[] {
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
  }

  private write(file: string, text: string): void {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}
