import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  NoSuchKey,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
// @smithy/util-stream is folded into @smithy/core here; this is the same sdkStreamMixin
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { Readable } from 'node:stream';
import { s3SnapshotStore } from '../../../functions/shared/adapters/aws/s3-snapshot-store';
import { CorruptObjectError, TransientError } from '../../../functions/shared/errors';

const BUCKET = 'caretaker-snapshots';
const KEY = 'prod/2025/01/01/etcd-20250101T000000Z.db';
const s3 = mockClient(S3Client);

function makeStore() {
  return s3SnapshotStore(BUCKET, new S3Client({}));
}

function body(text: string) {
  return sdkStreamMixin(Readable.from([Buffer.from(text, 'utf-8')]));
}

function slowDown(): S3ServiceException {
  return new S3ServiceException({
    name: 'SlowDown',
    $fault: 'server',
    $metadata: { httpStatusCode: 503 },
    message: 'Please reduce your request rate.',
  });
}

function accessDenied(): S3ServiceException {
  return new S3ServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
    message: 'Access Denied',
  });
}

beforeEach(() => {
  s3.reset();
});

describe('list', () => {
  it('lists every object under the prefix across pages', async () => {
    // Arrange
    const first = new Date('2025-01-01T00:00:00Z');
    const second = new Date('2025-01-02T00:00:00Z');
    const pages = [
      {
        Contents: [{ Key: 'prod/a.db', Size: 10, LastModified: first }],
        IsTruncated: true,
        NextContinuationToken: 'token-2',
      },
      { Contents: [{ Key: 'prod/b.db', Size: 20, LastModified: second }], IsTruncated: false },
    ];
    // the SDK paginator reuses one input object across pages, so copy each input as it is sent
    const sent: ListObjectsV2CommandInput[] = [];
    s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
      sent.push({ ...input });
      return pages[sent.length - 1];
    });
    const store = makeStore();

    // Act
    const listed = await store.list('prod/');

    // Assert
    expect(listed).toEqual([
      { key: 'prod/a.db', size: 10, lastModified: first },
      { key: 'prod/b.db', size: 20, lastModified: second },
    ]);
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 2);
    expect(s3).toHaveReceivedNthCommandWith(1, ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'prod/' });
    expect(s3).toHaveReceivedNthCommandWith(2, ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'prod/' });
    expect(sent).toEqual([
      { Bucket: BUCKET, Prefix: 'prod/' },
      { Bucket: BUCKET, Prefix: 'prod/', ContinuationToken: 'token-2' },
    ]);
  });

  it('skips entries without a key and defaults a missing size and date', async () => {
    // Arrange
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Size: 1 }, { Key: 'prod/c.db' }] });
    const store = makeStore();

    // Act
    const listed = await store.list('prod/');

    // Assert
    expect(listed).toEqual([{ key: 'prod/c.db', size: 0, lastModified: new Date(0) }]);
  });

  it('fails with TransientError when S3 asks to slow down', async () => {
    // Arrange
    s3.on(ListObjectsV2Command).rejects(slowDown());
    const store = makeStore();

    // Act
    const listing = store.list('prod/');

    // Assert
    await expect(listing).rejects.toThrow(TransientError);
  });
});

describe('head', () => {
  it('maps size and metadata of an object without Object Lock', async () => {
    // Arrange
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1234, Metadata: { sha256: 'abc', revision: '42' } });
    const store = makeStore();

    // Act
    const head = await store.head(KEY);

    // Assert
    expect(head).toStrictEqual({ size: 1234, metadata: { sha256: 'abc', revision: '42' } });
    expect(s3).toHaveReceivedCommandTimes(HeadObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(HeadObjectCommand, { Bucket: BUCKET, Key: KEY });
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({ Bucket: BUCKET, Key: KEY });
  });

  it('reports the retention date when a lock mode is set and the legal hold when it is ON', async () => {
    // Arrange
    const until = new Date('2025-02-01T00:00:00Z');
    s3.on(HeadObjectCommand).resolves({
      ContentLength: 1,
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: until,
      ObjectLockLegalHoldStatus: 'ON',
    });
    const store = makeStore();

    // Act
    const head = await store.head(KEY);

    // Assert
    expect(head).toStrictEqual({ size: 1, metadata: {}, lockedUntil: until, legalHold: true });
  });

  it('ignores a retention date without a lock mode and a legal hold that is OFF', async () => {
    // Arrange
    s3.on(HeadObjectCommand).resolves({
      ContentLength: 1,
      ObjectLockRetainUntilDate: new Date('2025-02-01T00:00:00Z'),
      ObjectLockLegalHoldStatus: 'OFF',
    });
    const store = makeStore();

    // Act
    const head = await store.head(KEY);

    // Assert
    expect(head).toStrictEqual({ size: 1, metadata: {} });
  });

  it('returns undefined when the object does not exist', async () => {
    // Arrange
    s3.on(HeadObjectCommand).rejects(
      new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }),
    );
    const store = makeStore();

    // Act
    const head = await store.head(KEY);

    // Assert
    expect(head).toBeUndefined();
  });

  it('returns undefined for a generic NotFound service error', async () => {
    // Arrange
    s3.on(HeadObjectCommand).rejects(
      new S3ServiceException({
        name: 'NotFound',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
        message: 'UnknownError',
      }),
    );
    const store = makeStore();

    // Act
    const head = await store.head(KEY);

    // Assert
    expect(head).toBeUndefined();
  });

  it('rejects with the original error when access is denied', async () => {
    // Arrange
    const denied = accessDenied();
    s3.on(HeadObjectCommand).rejects(denied);
    const store = makeStore();

    // Act
    const heading = store.head(KEY);

    // Assert
    await expect(heading).rejects.toBe(denied);
  });
});

describe('getJson', () => {
  it('reads and parses the object body', async () => {
    // Arrange
    s3.on(GetObjectCommand).resolves({ Body: body('{"revision":42,"members":["a","b"]}') });
    const store = makeStore();

    // Act
    const json = await store.getJson('prod/manifest.json');

    // Assert
    expect(json).toEqual({ revision: 42, members: ['a', 'b'] });
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: 'prod/manifest.json' });
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'prod/manifest.json',
    });
  });

  it('returns undefined when the key does not exist', async () => {
    // Arrange
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
    );
    const store = makeStore();

    // Act
    const json = await store.getJson('prod/manifest.json');

    // Assert
    expect(json).toBeUndefined();
  });

  it('rejects a body that is not JSON, naming the object', async () => {
    // Arrange
    s3.on(GetObjectCommand).resolves({ Body: body('{oops') });
    const store = makeStore();

    // Act
    const getting = store.getJson('prod/manifest.json');

    // Assert
    await expect(getting).rejects.toThrow(CorruptObjectError);
    await expect(getting).rejects.toThrow(`s3://${BUCKET}/prod/manifest.json is not JSON`);
  });

  it('fails with TransientError when S3 asks to slow down', async () => {
    // Arrange
    s3.on(GetObjectCommand).rejects(slowDown());
    const store = makeStore();

    // Act
    const getting = store.getJson('prod/manifest.json');

    // Assert
    await expect(getting).rejects.toThrow(TransientError);
  });
});

describe('getTags', () => {
  it('returns the object tags as a record', async () => {
    // Arrange
    s3.on(GetObjectTaggingCommand).resolves({
      TagSet: [
        { Key: 'cluster', Value: 'prod' },
        { Key: 'tier', Value: 'daily' },
      ],
    });
    const store = makeStore();

    // Act
    const tags = await store.getTags(KEY);

    // Assert
    expect(tags).toEqual({ cluster: 'prod', tier: 'daily' });
    expect(s3).toHaveReceivedCommandTimes(GetObjectTaggingCommand, 1);
    expect(s3).toHaveReceivedCommandWith(GetObjectTaggingCommand, { Bucket: BUCKET, Key: KEY });
    expect(s3.commandCalls(GetObjectTaggingCommand)[0]?.args[0].input).toEqual({ Bucket: BUCKET, Key: KEY });
  });

  it('returns an empty record for an object without tags', async () => {
    // Arrange
    s3.on(GetObjectTaggingCommand).resolves({ TagSet: [] });
    const store = makeStore();

    // Act
    const tags = await store.getTags(KEY);

    // Assert
    expect(tags).toEqual({});
  });

  it('rejects with the original error when access is denied', async () => {
    // Arrange
    const denied = accessDenied();
    s3.on(GetObjectTaggingCommand).rejects(denied);
    const store = makeStore();

    // Act
    const getting = store.getTags(KEY);

    // Assert
    await expect(getting).rejects.toBe(denied);
  });
});

describe('delete', () => {
  it('deletes the current version only, leaving a delete marker', async () => {
    // Arrange
    s3.on(DeleteObjectCommand).resolves({ DeleteMarker: true });
    const store = makeStore();

    // Act
    await store.delete(KEY);

    // Assert
    expect(s3).toHaveReceivedCommandTimes(DeleteObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, { Bucket: BUCKET, Key: KEY });
    // no VersionId: a versioned delete would remove the data for good
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toStrictEqual({
      Bucket: BUCKET,
      Key: KEY,
    });
  });

  it('fails with TransientError when S3 asks to slow down', async () => {
    // Arrange
    s3.on(DeleteObjectCommand).rejects(slowDown());
    const store = makeStore();

    // Act
    const deleting = store.delete(KEY);

    // Assert
    await expect(deleting).rejects.toThrow(TransientError);
  });
});
