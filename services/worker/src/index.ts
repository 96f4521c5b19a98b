export { startWorkerHost } from './host.ts';
