/** The retained status an agent keeps on `agents/{id}/status`; the broker's will says offline. */
export interface AgentStatus {
  agent_id: string;
  status: 'online' | 'offline';
  at: string;
  model_name?: string | null;
  model_version?: string | null;
  queue_depth?: number;
  oldest_unsent_age_s?: number | null;
}

export function offlineStatus(agentId: string): AgentStatus {
  return { agent_id: agentId, status: 'offline', at: new Date().toISOString() };
}
