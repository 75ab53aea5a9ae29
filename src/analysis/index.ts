export { analyzeDelivery, type AnalyzeOptions } from './analyze.ts';
export type { AnalysisReport, AnalysisLine, LineLevel } from './report.ts';
export { ReportLines } from './report.ts';
export type { CheckLimits } from './checks.ts';
