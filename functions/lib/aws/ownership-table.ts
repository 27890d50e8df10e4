import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { type OwnerRow, type OwnershipPort, OwnershipTableError, ownerKey } from '../follow/ownership';
import type { EntryRef, TargetKind } from '../reconcile/ports';

/** The table's key attribute (`<kind>#<path>`) and its index by ECS service. */
export const OWNERSHIP_KEY = 'entry';
export const OWNERSHIP_INDEX = 'byEcsService';
export const OWNERSHIP_INDEX_KEY = 'ecsService';

/**
 * The ownership table in DynamoDB (on demand; created by the construct, infra/ownership-table.ts).
 * Reads are strongly consistent, because the next write is conditional on what they saw; every
 * write is conditional on the row's `version` (or its absence), and a failed condition is a
 * `false`, not an error. Any other failure is an `OwnershipTableError` naming the table.
 */
export class OwnershipTable implements OwnershipPort {
  constructor(
    private readonly client: DynamoDBClient,
    readonly table: string,
  ) {}

  async get(ref: EntryRef): Promise<OwnerRow | undefined> {
    const out = await this.call('read the row', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: { [OWNERSHIP_KEY]: { S: ownerKey(ref) } },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item === undefined ? undefined : fromItem(out.Item);
  }

  async put(row: Omit<OwnerRow, 'version'>, expectedVersion: number | undefined): Promise<boolean> {
    const version = (expectedVersion ?? 0) + 1;
    return this.conditional('write the row', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toItem({ ...row, version }),
          ...(expectedVersion === undefined
            ? {
                ConditionExpression: 'attribute_not_exists(#k)',
                ExpressionAttributeNames: { '#k': OWNERSHIP_KEY },
              }
            : {
                ConditionExpression: '#v = :v',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':v': { N: String(expectedVersion) } },
              }),
        }),
      ),
    );
  }

  async release(ref: EntryRef, expectedVersion: number): Promise<boolean> {
    return this.conditional('delete the row', () =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { [OWNERSHIP_KEY]: { S: ownerKey(ref) } },
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': { N: String(expectedVersion) } },
        }),
      ),
    );
  }

  async byEcsService(ecsService: string): Promise<OwnerRow[]> {
    return this.allPages('query the ECS service index', (start) =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: OWNERSHIP_INDEX,
          KeyConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': OWNERSHIP_INDEX_KEY },
          ExpressionAttributeValues: { ':s': { S: ecsService } },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      ),
    );
  }

  async list(): Promise<OwnerRow[]> {
    return this.allPages('list the rows', (start) =>
      this.client.send(
        new ScanCommand({
          TableName: this.table,
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      ),
    );
  }

  /** Every row of a paged Query or Scan, following `LastEvaluatedKey`. */
  private async allPages(
    what: string,
    page: (start: Record<string, AttributeValue> | undefined) => Promise<{
      Items?: Record<string, AttributeValue>[];
      LastEvaluatedKey?: Record<string, AttributeValue>;
    }>,
  ): Promise<OwnerRow[]> {
    const rows: OwnerRow[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.call(what, () => page(start));
      for (const item of out.Items ?? []) {
        const row = fromItem(item);
        if (row !== undefined) rows.push(row);
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return rows;
  }

  private async call<T>(what: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new OwnershipTableError(this.table, what, error);
    }
  }

  private async conditional(what: string, send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (error) {
      if ((error as { name?: string } | null)?.name === 'ConditionalCheckFailedException') return false;
      throw new OwnershipTableError(this.table, what, error);
    }
  }
}

function toItem(row: OwnerRow): Record<string, AttributeValue> {
  return {
    [OWNERSHIP_KEY]: { S: ownerKey(row) },
    kind: { S: row.kind },
    path: { S: row.path },
    cloudMapService: { S: row.cloudMapService },
    [OWNERSHIP_INDEX_KEY]: { S: row.ecsService },
    registeredUrl: { S: row.registeredUrl },
    writtenUrl: { S: row.writtenUrl },
    ...(row.previousUrl === undefined ? {} : { previousUrl: { S: row.previousUrl } }),
    at: { S: row.at },
    version: { N: String(row.version) },
  };
}

/** A stored item as a row; an item without the fields a row needs is not one (left out). */
function fromItem(item: Record<string, AttributeValue>): OwnerRow | undefined {
  const s = (name: string) => item[name]?.S;
  const kind = s('kind');
  const version = Number(item.version?.N);
  const fields = {
    path: s('path'),
    cloudMapService: s('cloudMapService'),
    ecsService: s(OWNERSHIP_INDEX_KEY),
    registeredUrl: s('registeredUrl'),
    writtenUrl: s('writtenUrl'),
    at: s('at'),
  };
  if ((kind !== 'server' && kind !== 'agent') || !Number.isInteger(version)) return undefined;
  if (Object.values(fields).some((v) => v === undefined)) return undefined;
  const previousUrl = s('previousUrl');
  return {
    kind: kind as TargetKind,
    ...(fields as Omit<OwnerRow, 'kind' | 'version' | 'previousUrl'>),
    ...(previousUrl === undefined ? {} : { previousUrl }),
    version,
  };
}
