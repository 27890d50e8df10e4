import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { OwnershipTable } from '../../functions/lib/aws/ownership-table';
import { isRetryable } from '../../functions/lib/errors';
import { OwnershipTableError } from '../../functions/lib/follow/ownership';

/** The DynamoDB adapter at its SDK boundary: what it asks, and how it reads DynamoDB's answers. */

const ddb = mockClient(DynamoDBClient);
const table = () => new OwnershipTable(new DynamoDBClient({ region: 'us-west-2' }), 'owners');
const ROW = {
  kind: 'server' as const,
  path: '/weather/',
  cloudMapService: 'weather-server',
  ecsService: 'mcp-gateway-weather',
  registeredUrl: 'http://weather-server:8000/',
  writtenUrl: 'http://10.0.5.61:8000/',
  at: '2026-01-01T00:00:00.000Z',
};
const item = (version: number, extra: Record<string, { S: string }> = {}) => ({
  entry: { S: 'server#/weather/' },
  kind: { S: 'server' },
  path: { S: '/weather/' },
  cloudMapService: { S: ROW.cloudMapService },
  ecsService: { S: ROW.ecsService },
  registeredUrl: { S: ROW.registeredUrl },
  writtenUrl: { S: ROW.writtenUrl },
  at: { S: ROW.at },
  version: { N: String(version) },
  ...extra,
});

beforeEach(() => ddb.reset());

describe('OwnershipTable (DynamoDB)', () => {
  it('reads a row strongly consistent, by its key', async () => {
    ddb.on(GetItemCommand).resolves({ Item: item(3, { previousUrl: { S: 'http://10.0.5.60:8000/' } }) });

    const row = await table().get({ kind: 'server', path: '/weather/' });

    expect(row).toEqual({ ...ROW, previousUrl: 'http://10.0.5.60:8000/', version: 3 });
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'owners',
      Key: { entry: { S: 'server#/weather/' } },
      ConsistentRead: true,
    });
  });

  it('reads no row as undefined, and an item without a row’s fields as none', async () => {
    ddb
      .on(GetItemCommand)
      .resolvesOnce({})
      .resolvesOnce({ Item: { entry: { S: 'x' }, version: { N: '1' } } });

    expect(await table().get({ kind: 'server', path: '/weather/' })).toBeUndefined();
    expect(await table().get({ kind: 'server', path: '/weather/' })).toBeUndefined();
  });

  it('writes a first row only where none is, and a later one only over the version it read', async () => {
    ddb.on(PutItemCommand).resolves({});

    await table().put(ROW, undefined);
    await table().put(ROW, 4);

    const [first, later] = ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input);
    expect(first?.ConditionExpression).toBe('attribute_not_exists(#k)');
    expect(first?.Item?.version).toEqual({ N: '1' });
    expect(later?.ConditionExpression).toBe('#v = :v');
    expect(later?.ExpressionAttributeValues).toEqual({ ':v': { N: '4' } });
    expect(later?.Item?.version).toEqual({ N: '5' });
  });

  it('answers false when the condition fails (another writer got there first)', async () => {
    const failed = new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
    });
    ddb.on(PutItemCommand).rejects(failed);
    ddb.on(DeleteItemCommand).rejects(failed);

    expect(await table().put(ROW, 1)).toBe(false);
    expect(await table().release(ROW, 1)).toBe(false);
  });

  it('turns any other failure into a retryable error naming the table and what it could not do', async () => {
    ddb
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { name: 'Error' }));

    const error = await table()
      .put(ROW, undefined)
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    expect(error).toBeInstanceOf(OwnershipTableError);
    expect((error as Error).message).toBe(
      'ownership table owners: cannot write the row: Error: connect ECONNREFUSED 127.0.0.1:4566',
    );
    expect(isRetryable(error)).toBe(true);
  });

  it('queries the index by ECS service, page by page', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [item(1)], LastEvaluatedKey: { entry: { S: 'server#/weather/' } } })
      .resolvesOnce({ Items: [item(2)] });

    const rows = await table().byEcsService('mcp-gateway-weather');

    expect(rows.map((r) => r.version)).toEqual([1, 2]);
    const inputs = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toMatchObject({
      IndexName: 'byEcsService',
      KeyConditionExpression: '#s = :s',
      ExpressionAttributeValues: { ':s': { S: 'mcp-gateway-weather' } },
    });
    expect(inputs[1]?.ExclusiveStartKey).toEqual({ entry: { S: 'server#/weather/' } });
  });
});
