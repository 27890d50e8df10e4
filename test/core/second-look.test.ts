import type { Decision } from '../../functions/lib/core/decide';
import { needsSecondLook, withSecondLook } from '../../functions/lib/core/resync';
import { taskArnMismatch } from '../../functions/lib/core/task';
import type { TaskState } from '../../functions/lib/core/types';

const A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const A_URL = 'http://10.0.1.11:8000/';
const live = (id: string, ipv4: string): TaskState => ({
  taskId: id,
  lastStatus: 'RUNNING',
  desiredStatus: 'RUNNING',
  ipv4,
});
const moveToB: Decision = {
  action: 'update',
  reason: 'current-not-live',
  detail: '',
  desiredUrl: 'http://10.0.1.12:8000/',
  instances: [],
  chosen: B,
  retryable: false,
};
const pointer = { taskId: A, url: A_URL, checkedAt: 0 };
const onlyB = new Map([[B, live(B, '10.0.1.12')]]);
const base = {
  decision: moveToB,
  currentUrl: A_URL,
  pointer,
  tasks: onlyB,
  stoppingTaskIds: new Set<string>(),
};

describe('Function: needsSecondLook', () => {
  it('asks again when one answer alone takes the entry off its remembered live task', () => {
    expect(needsSecondLook(base)).toBe(true);
    expect(
      needsSecondLook({
        ...base,
        tasks: new Map([...onlyB, [A, { ...live(A, '10.0.1.11'), lastStatus: 'STOPPED' }]]),
      }),
    ).toBe(true);
  });

  it.each([
    ['no pointer', { pointer: undefined }],
    ['the entry no longer holds the pointer address', { currentUrl: 'http://10.0.1.99:8000/' }],
    ['the decision keeps the entry', { decision: { ...moveToB, action: 'noop' as const } }],
    ['the decision stays on the pointer task (a port change)', { decision: { ...moveToB, chosen: A } }],
    ['an event says the task stops', { stoppingTaskIds: new Set([A]) }],
    [
      'the answer shows the task live (it is moved for another cause)',
      { tasks: new Map([...onlyB, [A, live(A, '10.0.1.11')]]) },
    ],
    ['an earlier answer also found it gone', { earlier: new Map<string, TaskState>() }],
  ])('does not ask again when %s', (_why, change) => {
    expect(needsSecondLook({ ...base, ...change })).toBe(false);
  });

  it('asks again when an earlier answer found the task live and this one does not', () => {
    expect(needsSecondLook({ ...base, earlier: new Map([[A, live(A, '10.0.1.11')]]) })).toBe(true);
  });
});

describe('Function: withSecondLook', () => {
  it('lays the second answer for the task over the first, absent meaning MISSING', () => {
    const first = new Map([
      [B, live(B, '10.0.1.12')],
      [A, { ...live(A, '10.0.1.11'), lastStatus: 'STOPPED' }],
    ]);

    expect(withSecondLook(first, A, new Map([[A, live(A, '10.0.1.11')]])).get(A)?.lastStatus).toBe('RUNNING');
    expect(withSecondLook(first, A, new Map()).has(A)).toBe(false);
    expect(withSecondLook(first, A, new Map()).get(B)).toEqual(first.get(B));
    expect(first.get(A)?.lastStatus).toBe('STOPPED');
  });
});

describe('Function: taskArnMismatch', () => {
  const CLUSTER = 'arn:aws:ecs:us-west-2:111122223333:cluster/prod';
  it.each([
    ['arn:aws:ecs:us-west-2:111122223333:task/prod/0123', undefined],
    ['arn:aws:ecs:us-west-2:111122223333:task/0123', undefined],
    ['arn:aws:ecs:us-west-2:111122223333:task/staging/0123', 'cluster staging is not prod'],
    ['arn:aws:ecs:us-east-1:111122223333:task/prod/0123', 'Region us-east-1 is not us-west-2'],
    ['arn:aws:ecs:us-west-2:444455556666:task/prod/0123', 'account 444455556666 is not 111122223333'],
    ['arn:aws-cn:ecs:us-west-2:111122223333:task/prod/0123', 'partition aws-cn is not aws'],
    [
      'arn:aws:ecs:eu-central-1:444455556666:task/other/0123',
      'Region eu-central-1 is not us-west-2, account 444455556666 is not 111122223333, cluster other is not prod',
    ],
  ])('%s → %s', (taskArn, expected) => {
    expect(taskArnMismatch(CLUSTER, taskArn)).toBe(expected);
  });
});
