/**
 * Roles and what they may do. Roles are ordered: a viewer reads, an operator also acts on
 * deliveries and quarantine, an admin also manages users and API keys. Routes name the
 * lowest role they accept; everything that changes state defaults to operator, so a new
 * route written without thinking about access is still closed to viewers.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route asks for: `public` skips authentication altogether. */
export type Access = 'public' | Role;

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export const isRole = (v: string): v is Role => (ROLES as readonly string[]).includes(v);

export function allows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** The signed-in user or API key behind a request. */
export interface Principal {
  kind: 'user' | 'api-key';
  id: number;
  /** The name written to audit trails: the user name, or "<key name> (API key)". */
  name: string;
  role: Role;
  /** For a user signed in through the dashboard, the session it uses. */
  sessionHash?: string;
  /**
   * For an API key limited to streams, their ids: it may send to them and read them (their
   * messages, logs and KPIs) and nothing else, whatever its role. Absent: not limited.
   */
  streams?: number[];
}
