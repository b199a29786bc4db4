/**
 * Search attributes staff filter on in the Temporal UI. Keyword values only: no personal data
 * (they are never encrypted). Registered on the dev server at start and by the compose set-up.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const OasisAccount = defineSearchAttributeKey('OasisAccount', SearchAttributeType.KEYWORD);
export const OasisOrderId = defineSearchAttributeKey('OasisOrderId', SearchAttributeType.KEYWORD);
export const OrderStage = defineSearchAttributeKey('OrderStage', SearchAttributeType.KEYWORD);
export const AlmaPoLine = defineSearchAttributeKey('AlmaPoLine', SearchAttributeType.KEYWORD);
export const AlmaMmsId = defineSearchAttributeKey('AlmaMmsId', SearchAttributeType.KEYWORD);
export const Isbn = defineSearchAttributeKey('Isbn', SearchAttributeType.KEYWORD);
export const OrderAlerts = defineSearchAttributeKey('OrderAlerts', SearchAttributeType.KEYWORD_LIST);

/** Name → type as the CLI's `--search-attribute Name=Type` and the operator service want them. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'KeywordList'> = {
  OasisAccount: 'Keyword',
  OasisOrderId: 'Keyword',
  OrderStage: 'Keyword',
  AlmaPoLine: 'Keyword',
  AlmaMmsId: 'Keyword',
  Isbn: 'Keyword',
  OrderAlerts: 'KeywordList',
};
