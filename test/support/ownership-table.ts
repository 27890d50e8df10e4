/**
 * The ownership table as the construct creates it (infra/ownership-table.ts: the entry key and the
 * index by ECS service), made in moto_server's DynamoDB for the tests that run follow mode live.
 */
import { CreateTableCommand, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { OWNERSHIP_INDEX, OWNERSHIP_INDEX_KEY, OWNERSHIP_KEY } from '../../functions/lib/aws/ownership-table';

/** Creates the table `name` and returns a client of moto's DynamoDB, for the test to read it. */
export async function createOwnershipTable(
  config: DynamoDBClientConfig,
  name: string,
): Promise<DynamoDBClient> {
  const ddb = new DynamoDBClient(config);
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: OWNERSHIP_KEY, AttributeType: 'S' },
        { AttributeName: OWNERSHIP_INDEX_KEY, AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: OWNERSHIP_KEY, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: OWNERSHIP_INDEX,
          KeySchema: [{ AttributeName: OWNERSHIP_INDEX_KEY, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  return ddb;
}
