/**
 * Imported first by every CLI: the AWS SDK prints a Node-version support warning when a client is
 * built, which only adds noise to a tool's output. The tooling's Node requirement is in package.json.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
