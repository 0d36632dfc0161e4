import { type Logger, pino } from 'pino';

/** The agent's structured JSON log (pino) on stdout; every line names the agent. */
export function createAgentLogger(options: { level: string; agentId?: string }): Logger {
  return pino({ level: options.level, base: options.agentId ? { agent: options.agentId } : {} });
}
