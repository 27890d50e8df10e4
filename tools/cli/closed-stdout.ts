/**
 * Imported by every CLI: when the reader of stdout goes away early (`npm run replay -- --json |
 * head -1`), writes fail with EPIPE. The reader has taken what it wanted, so the tool stops there
 * quietly, as a Unix tool would, instead of crashing with a stack trace. Any other stdout error
 * is still reported.
 */
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`cannot write to stdout: ${error.message}\n`);
  process.exit(1);
});
