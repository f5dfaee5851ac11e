import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import type { ClusterConfig } from '../../domain/config';
import { ClusterNotFoundError } from '../../errors';
import type { ClusterDirectory } from '../../ports';
import { rethrowTransient } from './transient';

/** the stack writes each resolved cluster to `<prefix>/<name>`; cached for the container's life */
export function ssmClusterDirectory(prefix: string, client = new SSMClient({})): ClusterDirectory {
  const cache = new Map<string, Promise<ClusterConfig>>();
  const load = async (name: string): Promise<ClusterConfig> => {
    try {
      const out = await client.send(new GetParameterCommand({ Name: `${prefix}/${name}` }));
      return JSON.parse(out.Parameter?.Value ?? '') as ClusterConfig;
    } catch (e) {
      if (e instanceof ParameterNotFound) {
        throw new ClusterNotFoundError(
          `cluster "${name}" is not configured (no parameter ${prefix}/${name})`,
        );
      }
      return rethrowTransient(e);
    }
  };
  return {
    get(name) {
      let hit = cache.get(name);
      if (!hit) {
        hit = load(name);
        cache.set(name, hit);
        hit.catch(() => cache.delete(name));
      }
      return hit;
    },
  };
}
