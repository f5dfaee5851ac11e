import { join } from 'node:path';
import { checkAgainstCatalog } from '../../infra/constructs/command-documents';
import { loadCommandDocuments, type CommandDocument } from '../../infra/ssm-documents';

const documents = loadCommandDocuments(join(__dirname, '..', '..', 'ssm-documents'));

/** a copy of a document whose first step has another timeout */
function withTimeout(doc: CommandDocument, timeoutSeconds: number): CommandDocument {
  const content = doc.content as { mainSteps: { inputs: Record<string, unknown> }[] };
  const [first, ...rest] = content.mainSteps;
  return {
    ...doc,
    content: {
      ...content,
      mainSteps: [{ ...first!, inputs: { ...first!.inputs, timeoutSeconds } }, ...rest],
    },
  };
}

describe('synth checks the documents against the command catalog', () => {
  it("accepts the repository's documents", () => {
    expect(() => checkAgainstCatalog(documents)).not.toThrow();
  });

  it("rejects a document whose timeoutSeconds is not the catalog's execution timeout", () => {
    const changed = documents.map((d) => (d.name === 'etcd-status' ? withTimeout(d, 60) : d));

    expect(() => checkAgainstCatalog(changed)).toThrow(
      /etcd-status\.yaml timeoutSeconds is 60, the catalog plans 120/,
    );
  });

  it('rejects a document the catalog does not know, and a command without a document', () => {
    const stray = { ...documents[0]!, name: 'run-anything' };
    const missing = documents.filter((d) => d.name !== 'etcd-snapshot');

    expect(() => checkAgainstCatalog([...missing, stray])).toThrow(
      /command etcd-snapshot has no document[\s\S]*run-anything\.yaml is not in the command catalog/,
    );
  });
});
