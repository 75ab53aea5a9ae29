export { analyzeDelivery, type AnalyzeOptions, type ExtraCheckInput } from './analyze.ts';
export { complianceCheck, type ComplianceDeps } from './compliance.ts';
export type { AnalysisReport, AnalysisLine, LineLevel } from './report.ts';
export { ReportLines } from './report.ts';
export type { CheckLimits } from './checks.ts';
