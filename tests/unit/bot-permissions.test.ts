import { PermissionFlagsBits, PermissionsBitField } from 'discord.js';
import { describe, expect, test } from 'vitest';
import {
  describeMissing,
  INVITE_PERMISSIONS,
  inviteUrl,
  missingRoomPermissions,
  REQUIRED_ROOM_PERMISSIONS,
} from '../../src/bot/permissions.ts';

const all = new PermissionsBitField(REQUIRED_ROOM_PERMISSIONS.map((r) => r.flag));

describe('room permissions', () => {
  test('nothing is missing when every required permission is granted', () => {
    expect(missingRoomPermissions(all)).toEqual([]);
  });

  test('Speak is not required: the bot only listens', () => {
    expect(REQUIRED_ROOM_PERMISSIONS.map((r) => r.label)).not.toContain('Speak');
  });

  test('Administrator implies everything', () => {
    expect(missingRoomPermissions(new PermissionsBitField(PermissionFlagsBits.Administrator))).toEqual([]);
  });

  test('names each missing permission and why it is needed', () => {
    const granted = new PermissionsBitField(all).remove(PermissionFlagsBits.Connect, PermissionFlagsBits.SendMessages);
    const missing = missingRoomPermissions(granted);
    expect(missing.map((m) => m.label)).toEqual(['Connect', 'Send Messages']);
    const text = describeMissing('<#42>', missing);
    expect(text).toContain("I can't record in <#42>");
    expect(text).toContain('**Connect** (to join the room)');
    expect(text).toContain('**Send Messages**');
  });

  test('a channel the bot cannot see at all (null permissions) misses everything', () => {
    expect(missingRoomPermissions(null)).toHaveLength(REQUIRED_ROOM_PERMISSIONS.length);
  });

  test('the invite asks for exactly the required permissions plus Change Nickname', () => {
    const bits = new PermissionsBitField(INVITE_PERMISSIONS);
    expect(bits.toArray().sort()).toEqual(
      ['AddReactions', 'ChangeNickname', 'Connect', 'ReadMessageHistory', 'SendMessages', 'ViewChannel'].sort(),
    );
    const url = new URL(inviteUrl('123456789012345678'));
    expect(url.searchParams.get('scope')).toBe('bot applications.commands');
    expect(url.searchParams.get('permissions')).toBe(INVITE_PERMISSIONS.toString());
    expect(url.searchParams.get('client_id')).toBe('123456789012345678');
  });
});
