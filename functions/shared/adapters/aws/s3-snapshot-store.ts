import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  NotFound,
  NoSuchKey,
  paginateListObjectsV2,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CorruptObjectError } from '../../errors';
import type { ObjectHead, SnapshotStore, StoredObject } from '../../ports';
import { rethrowTransient } from './transient';

/** the snapshot bucket; the key layout is the domain's (snapshot-key.ts), not this adapter's */
export function s3SnapshotStore(bucket: string, client = new S3Client({})): SnapshotStore {
  return {
    async list(prefix) {
      const out: StoredObject[] = [];
      try {
        for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
          for (const o of page.Contents ?? []) {
            if (o.Key)
              out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
          }
        }
      } catch (e) {
        rethrowTransient(e);
      }
      return out;
    },

    async head(key) {
      try {
        const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        const head: ObjectHead = { size: h.ContentLength ?? 0, metadata: h.Metadata ?? {} };
        if (h.ObjectLockRetainUntilDate && h.ObjectLockMode) head.lockedUntil = h.ObjectLockRetainUntilDate;
        if (h.ObjectLockLegalHoldStatus === 'ON') head.legalHold = true;
        return head;
      } catch (e) {
        if (e instanceof NotFound || (e as { name?: string }).name === 'NotFound') return undefined;
        return rethrowTransient(e);
      }
    },

    async getJson(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const text = (await out.Body?.transformToString('utf-8')) ?? '';
        return JSON.parse(text) as unknown;
      } catch (e) {
        if (e instanceof NoSuchKey) return undefined;
        if (e instanceof SyntaxError)
          throw new CorruptObjectError(`s3://${bucket}/${key} is not JSON: ${e.message}`);
        return rethrowTransient(e);
      }
    },

    async getTags(key) {
      const out = await client
        .send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))
        .catch(rethrowTransient);
      return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    },

    async putTags(key, tags) {
      await client
        .send(
          new PutObjectTaggingCommand({
            Bucket: bucket,
            Key: key,
            Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          }),
        )
        .catch(rethrowTransient);
    },

    async putJson(key, value) {
      await client
        .send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: JSON.stringify(value, null, 2),
            ContentType: 'application/json',
          }),
        )
        .catch(rethrowTransient);
    },

    async delete(key) {
      // versioned bucket: this adds a delete marker; the lifecycle rule reclaims the version later
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(rethrowTransient);
    },
  };
}
