/**
 * Where the function runs: the stack's VPC and subnets, imported by id (no lookups, so synth needs
 * no credentials), and its security group, given or created with only the egress it needs.
 */
import { Fn, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ReconcilerSettings } from './settings';

/** The function's VPC settings. */
export interface ReconcilerNetwork {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.ISubnet[];
  readonly securityGroups: ec2.ISecurityGroup[];
  /** The security group the construct created, when none was given. */
  readonly created: ec2.SecurityGroup | undefined;
}

/**
 * Imports the VPC and subnets, gives the roles ENI management, and picks or creates the security
 * group both functions share (they reach the same endpoints).
 */
export function importNetwork(
  scope: Construct,
  roles: readonly iam.Role[],
  network: NonNullable<ReconcilerSettings['network']>,
  registry: Pick<ReconcilerSettings['registry'], 'url' | 'auth'>,
): ReconcilerNetwork {
  // Attribute imports, not fromLookup: synth must work without credentials. The VPC's AZs are
  // never read (the subnets are passed explicitly), but the import needs a non-empty list.
  const vpc = ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
    vpcId: network.vpcId,
    availabilityZones: Fn.getAzs(),
  });
  const subnets = network.subnetIds.map((subnetId, i) =>
    ec2.Subnet.fromSubnetId(scope, `Subnet${i}`, subnetId),
  );
  Validations.of(vpc).acknowledge({
    id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
    reason: 'Nothing selects subnets from this VPC: the function is given its subnets by id.',
  });
  for (const subnet of subnets) {
    Validations.of(subnet).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
      reason: "Only the subnet id is used (the function's VPC configuration); its route table is never read.",
    });
  }
  // Lambda creates a function's network interfaces with the function's own role.
  const vpcAccess = iam.ManagedPolicy.fromAwsManagedPolicyName(
    'service-role/AWSLambdaVPCAccessExecutionRole',
  );
  for (const role of roles) role.addManagedPolicy(vpcAccess);
  if (network.securityGroupIds !== undefined && network.securityGroupIds.length > 0) {
    const securityGroups = network.securityGroupIds.map((sg, i) =>
      ec2.SecurityGroup.fromSecurityGroupId(scope, `SecurityGroup${i}`, sg, { mutable: false }),
    );
    return { vpc, subnets, securityGroups, created: undefined };
  }
  // The description is the created group's identity (changing it replaces the group, and with it
  // the registry's inbound rule that names it): it stays as first deployed.
  const created = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc,
    description: 'Registry reconciler function: outbound HTTPS to AWS APIs, the registry and Keycloak',
    allowAllOutbound: false,
  });
  for (const port of egressPorts(registry)) {
    created.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), `HTTP(S) on ${port}`);
  }
  return { vpc, subnets, securityGroups: [created], created };
}

/** Outbound TCP ports the created security group opens: 443 (AWS APIs) and those of the registry and Keycloak. */
export function egressPorts(registry: Pick<ReconcilerSettings['registry'], 'url' | 'auth'>): number[] {
  const urls = [registry.url, ...(registry.auth.type === 'keycloak' ? [registry.auth.tokenUrl] : [])];
  const ports = new Set<number>([443]);
  for (const url of urls) {
    try {
      const u = new URL(url);
      ports.add(u.port !== '' ? Number(u.port) : u.protocol === 'http:' ? 80 : 443);
    } catch {
      // reported by validation
    }
  }
  return [...ports].sort((a, b) => a - b);
}
