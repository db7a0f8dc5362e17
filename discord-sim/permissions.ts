import { PermissionFlagsBits } from 'discord-api-types/v10';

export type PermissionName = keyof typeof PermissionFlagsBits;

export interface Overwrite {
  /** role id or user id */
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export function bitsOf(names: readonly PermissionName[]): bigint {
  let bits = 0n;
  for (const name of names) bits |= PermissionFlagsBits[name];
  return bits;
}

const ALL = Object.values(PermissionFlagsBits).reduce((a, b) => a | b, 0n);

/**
 * Discord's permission algorithm ("Permission Overwrites" in the permissions topic): base = @everyone | member roles,
 * ADMINISTRATOR short-circuits, then channel overwrites in the order @everyone, roles (deny then allow), member.
 */
export function computePermissions(input: {
  guildId: string;
  ownerId: string;
  userId: string;
  memberRoleIds: readonly string[];
  rolePermissions: ReadonlyMap<string, bigint>;
  overwrites: readonly Overwrite[];
}): bigint {
  if (input.userId === input.ownerId) return ALL;
  let base = input.rolePermissions.get(input.guildId) ?? 0n;
  for (const roleId of input.memberRoleIds) base |= input.rolePermissions.get(roleId) ?? 0n;
  if ((base & PermissionFlagsBits.Administrator) !== 0n) return ALL;

  let perms = base;
  const everyone = input.overwrites.find((o) => o.id === input.guildId);
  if (everyone) perms = (perms & ~everyone.deny) | everyone.allow;
  let roleAllow = 0n;
  let roleDeny = 0n;
  for (const o of input.overwrites) {
    if (o.type === 0 && input.memberRoleIds.includes(o.id)) {
      roleAllow |= o.allow;
      roleDeny |= o.deny;
    }
  }
  perms = (perms & ~roleDeny) | roleAllow;
  const member = input.overwrites.find((o) => o.type === 1 && o.id === input.userId);
  if (member) perms = (perms & ~member.deny) | member.allow;
  return perms;
}
