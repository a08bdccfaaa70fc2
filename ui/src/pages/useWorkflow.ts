/** The workflow a page acts on (its current version), shared through the query cache. */
import { useQuery } from '@tanstack/react-query';
import { getWorkflow } from '../api/index.js';

export const useWorkflow = (id: string) =>
  useQuery({ queryKey: ['workflow', id], queryFn: ({ signal }) => getWorkflow(id, undefined, signal) });
