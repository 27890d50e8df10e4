/**
 * The body of a work message the fan-out makes for a schedule or a re-check: an EventBridge
 * "Scheduled Event", so the reconciler reads it as it reads the schedule (a full reconcile of the
 * message's entry). A task event is forwarded as it came.
 */
export function scheduledEventBody(id: string, time: string): string {
  return JSON.stringify({
    version: '0',
    id,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    time,
    resources: [],
    detail: {},
  });
}
