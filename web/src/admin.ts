/**
 * Administration clients: organisations (platform administrators), members and invitations (an
 * organisation's admins), API keys, the admin action log, and accepting an invitation. Answers
 * are parsed with the server's own contracts.
 */
import {
  acceptedInvitation,
  adminActionList,
  apiKeyList,
  createdApiKey,
  createdInvitation,
  memberList,
  memberView,
  orgList,
  orgView,
  type ApiKeyView,
  type CreatedApiKey,
  type CreatedInvitation,
  type MemberRole,
  type MemberView,
  type OrgView,
  type UserRole,
} from '@contracts/accounts.js';
import { request } from './api';

export type { ApiKeyView, CreatedApiKey, CreatedInvitation, MemberRole, MemberView, OrgView, UserRole };

export const USER_ROLES: { id: UserRole; label: string; help: string }[] = [
  { id: 'admin', label: 'Admin', help: 'everything, including members and API keys' },
  { id: 'analyst', label: 'Analyst', help: 'reads and changes monitoring' },
  { id: 'read-only', label: 'Read-only', help: 'reads only' },
];

const orgPath = (id: string) => `/api/v1/orgs/${encodeURIComponent(id)}`;

export const adminApi = {
  listOrgs: async () => orgList.parse(await request('GET', '/api/v1/orgs')).orgs,
  createOrg: async (name: string) => orgView.parse(await request('POST', '/api/v1/orgs', { name })),
  renameOrg: async (id: string, name: string) => orgView.parse(await request('PATCH', orgPath(id), { name })),
  removeOrg: (id: string) => request<unknown>('DELETE', orgPath(id)),

  members: async (orgId: string) => memberList.parse(await request('GET', `${orgPath(orgId)}/members`)),
  addMember: async (orgId: string, input: { email: string; role: UserRole; password: string }) => memberView.parse(await request('POST', `${orgPath(orgId)}/members`, input)),
  changeRole: async (orgId: string, userId: string, role: UserRole) =>
    memberView.parse(await request('PATCH', `${orgPath(orgId)}/members/${encodeURIComponent(userId)}`, { role })),
  removeMember: (orgId: string, userId: string) => request<unknown>('DELETE', `${orgPath(orgId)}/members/${encodeURIComponent(userId)}`),
  invite: async (orgId: string, input: { email: string; role: UserRole }) => createdInvitation.parse(await request('POST', `${orgPath(orgId)}/invitations`, input)),
  revokeInvitation: (orgId: string, id: string) => request<unknown>('DELETE', `${orgPath(orgId)}/invitations/${encodeURIComponent(id)}`),

  listApiKeys: async () => apiKeyList.parse(await request('GET', '/api/v1/api-keys')).api_keys,
  createApiKey: async (name: string, role: MemberRole) => createdApiKey.parse(await request('POST', '/api/v1/api-keys', { name, role })),
  revokeApiKey: (id: string) => request<unknown>('DELETE', `/api/v1/api-keys/${encodeURIComponent(id)}`),

  adminActions: async (orgId?: string) =>
    adminActionList.parse(await request('GET', `/api/v1/admin-actions${orgId ? `?${new URLSearchParams({ org_id: orgId }).toString()}` : ''}`)).actions,

  acceptInvitation: async (token: string, password: string) => acceptedInvitation.parse(await request('POST', '/api/v1/invitations/accept', { token, password })),
};

/** The token of an invitation link (`/accept-invitation#token=…`): in the fragment, which is never sent to a server. */
export function invitationToken(hash: string): string | undefined {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token');
  return token || undefined;
}
