namespace Outbox.Dashboard;

/// <summary>
/// What a page needs to know about the request it answers: who asks, whether they may act, the
/// CSRF token for its forms, and what every page must say at its top (Outbox:Safety's redirect).
/// </summary>
public sealed record DashboardRequest(string Actor, bool AllowActions, string CsrfField, string CsrfToken, string? Banner = null);
