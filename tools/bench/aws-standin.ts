import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An in-process stand-in for the AWS APIs the function calls (ECS, Cloud Map, Secrets Manager,
 * and SQS for a handed-back message's visibility and the write verification it sends), speaking
 * their JSON protocols on 127.0.0.1, so the bundled handler's first and warm
 * invocations run their real SDK clients end to end without moto's own latency in the figures.
 * It counts every call by API; `unlisted` task ids are known to ECS but not yet to Cloud Map (the
 * registration lag).
 */
export interface StandInTask {
  taskId: string;
  ecsService: string;
  cloudMapService: string;
  ipv4: string;
  port: number;
  startedAt: string;
}

export interface AwsStandIn {
  endpoint: string;
  /** Calls served, by `service.Operation` (`ecs.DescribeTasks`, `cloudmap.DiscoverInstances`, …). */
  calls: () => Record<string, number>;
  resetCalls: () => void;
  /** Task ids ECS reports RUNNING but Cloud Map does not list yet. */
  unlisted: Set<string>;
  close: () => Promise<void>;
}

const OPERATIONS: Record<string, string> = {
  'AmazonEC2ContainerServiceV20141113.DescribeTasks': 'ecs.DescribeTasks',
  'AmazonEC2ContainerServiceV20141113.DescribeServices': 'ecs.DescribeServices',
  'Route53AutoNaming_v20170314.DiscoverInstances': 'cloudmap.DiscoverInstances',
  'Route53AutoNaming_v20170314.GetService': 'cloudmap.GetService',
  'secretsmanager.GetSecretValue': 'secrets.GetSecretValue',
  'AmazonSQS.SendMessageBatch': 'sqs.SendMessageBatch',
  'AmazonSQS.ChangeMessageVisibility': 'sqs.ChangeMessageVisibility',
};

/** The queue URLs the stand-in serves (SQS clients send to the queue URL's host). */
export function standInQueueUrls(endpoint: string, account: string): { work: string; trigger: string } {
  return { work: `${endpoint}/${account}/bench-work.fifo`, trigger: `${endpoint}/${account}/bench-trigger` };
}

export async function startAwsStandIn(options: {
  region: string;
  account: string;
  cluster: string;
  tasks: StandInTask[];
  secretString: string;
}): Promise<AwsStandIn> {
  const calls: Record<string, number> = {};
  const unlisted = new Set<string>();
  const byId = new Map(options.tasks.map((t) => [t.taskId, t]));
  const taskArn = (id: string) =>
    `arn:aws:ecs:${options.region}:${options.account}:task/${options.cluster}/${id}`;

  const answer = (operation: string, input: Record<string, unknown>): [number, unknown] => {
    switch (operation) {
      case 'cloudmap.DiscoverInstances': {
        const service = String(input.ServiceName);
        const instances = options.tasks
          .filter((t) => t.cloudMapService === service && !unlisted.has(t.taskId))
          .map((t) => ({
            InstanceId: t.taskId,
            NamespaceName: input.NamespaceName,
            ServiceName: service,
            HealthStatus: 'UNKNOWN',
            Attributes: { AWS_INSTANCE_IPV4: t.ipv4, AWS_INSTANCE_PORT: String(t.port) },
          }));
        return [200, { Instances: instances }];
      }
      case 'ecs.DescribeTasks': {
        const ids = (input.tasks as string[] | undefined) ?? [];
        const found = ids.map((id) => byId.get(id.split('/').pop() ?? id));
        return [
          200,
          {
            tasks: found.flatMap((t) =>
              t === undefined
                ? []
                : [
                    {
                      taskArn: taskArn(t.taskId),
                      lastStatus: 'RUNNING',
                      desiredStatus: 'RUNNING',
                      version: 3,
                      group: `service:${t.ecsService}`,
                      startedAt: Date.parse(t.startedAt) / 1000,
                      attachments: [
                        {
                          id: `eni-att-${t.taskId.slice(0, 8)}`,
                          type: 'ElasticNetworkInterface',
                          status: 'ATTACHED',
                          details: [{ name: 'privateIPv4Address', value: t.ipv4 }],
                        },
                      ],
                    },
                  ],
            ),
            failures: ids
              .filter((id) => !byId.has(id.split('/').pop() ?? id))
              .map((id) => ({ arn: taskArn(id), reason: 'MISSING' })),
          },
        ];
      }
      case 'ecs.DescribeServices': {
        const names = (input.services as string[] | undefined) ?? [];
        return [
          200,
          {
            services: names.flatMap((name) => {
              const task = options.tasks.find((t) => t.ecsService === name);
              return task === undefined
                ? []
                : [
                    {
                      serviceName: name,
                      deployments: [
                        {
                          serviceConnectConfiguration: {
                            services: [{ discoveryName: task.cloudMapService }],
                          },
                        },
                      ],
                    },
                  ];
            }),
            failures: [],
          },
        ];
      }
      case 'secrets.GetSecretValue':
        return [
          200,
          { ARN: input.SecretId, Name: 'bench-secret', SecretString: options.secretString, VersionId: 'v1' },
        ];
      case 'sqs.SendMessageBatch': {
        // The SDK checks each message body against the MD5 the queue answers.
        const entries = (input.Entries ?? []) as { Id: string; MessageBody: string }[];
        return [
          200,
          {
            Successful: entries.map((e, i) => ({
              Id: e.Id,
              MessageId: `bench-${i}`,
              MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex'),
            })),
            Failed: [],
          },
        ];
      }
      case 'sqs.ChangeMessageVisibility':
        return [200, {}];
      default:
        return [
          400,
          { __type: 'UnknownOperationException', message: `stand-in does not serve ${operation}` },
        ];
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = OPERATIONS[target] ?? target;
      calls[operation] = (calls[operation] ?? 0) + 1;
      let input: Record<string, unknown> = {};
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        // an unreadable body gets the unknown-operation answer below
      }
      const [status, body] = answer(operation, input);
      const json = operation.startsWith('sqs.') ? '1.0' : '1.1';
      res.writeHead(status, { 'content-type': `application/x-amz-json-${json}` });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls: () => ({ ...calls }),
    resetCalls: () => {
      for (const k of Object.keys(calls)) delete calls[k];
    },
    unlisted,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
