// Loads a bundled Lambda handler in a fresh Node process, as the Lambda runtime does, and invokes
// it once with the event in the JSON file given; prints the result on a line of its own.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, eventFile] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const result = await handler(event, { getRemainingTimeInMillis: () => 60_000 });
process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`);
