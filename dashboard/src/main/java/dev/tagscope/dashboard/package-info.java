/**
 * The Tagscope dashboard: a live web page and a JSON API over the importance, tag-response and
 * probe topics (DESIGN.md section 2, last stage).
 *
 * <p>Entry point: {@link dev.tagscope.dashboard.DashboardService}, configured with
 * {@link dev.tagscope.dashboard.DashboardSettings}. Everything under {@code .internal} may
 * change without notice.
 */
package dev.tagscope.dashboard;
