export { getKpis, type Kpis } from './kpis.ts';
