import { renderTopicTable } from '../topics.js';

/** `reefguard topics`: the topic table as Markdown. */
export async function run(): Promise<number> {
  console.log(renderTopicTable());
  return 0;
}
