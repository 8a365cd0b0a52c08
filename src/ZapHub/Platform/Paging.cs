using Microsoft.EntityFrameworkCore;

namespace ZapHub.Platform;

/// <summary>One page of a list: the page asked for (from 1), its size, and how many rows match in all.</summary>
public sealed record Paged<T>(IReadOnlyList<T> Items, int Total, int Page, int PageSize)
{
    public int Pages => Math.Max(1, (Total + PageSize - 1) / PageSize);
    public int First => Total == 0 ? 0 : (Page - 1) * PageSize + 1;
    public int Last => (Page - 1) * PageSize + Items.Count;
}

public static class Paging
{
    public const int MaxPageSize = 500;

    /// <summary>Reads one page of an ordered query with its total (two queries, whatever the table's size).</summary>
    public static async Task<Paged<T>> PageAsync<T>(this IQueryable<T> ordered, int? page, int? pageSize, int defaultSize, CancellationToken ct)
    {
        var size = Math.Clamp(pageSize ?? defaultSize, 1, MaxPageSize);
        var number = Math.Max(1, page ?? 1);
        var total = await ordered.CountAsync(ct);
        // A page past the end shows the last one rather than nothing (a filter or a delete shrank the list meanwhile).
        number = Math.Min(number, Math.Max(1, (total + size - 1) / size));
        var items = total == 0 ? [] : await ordered.Skip((number - 1) * size).Take(size).ToListAsync(ct);
        return new Paged<T>(items, total, number, size);
    }

    /// <summary>
    /// The API answers a page as a plain array (what callers of the unpaged list already read) and says where it is in
    /// headers: X-Total-Count, X-Page, X-Page-Size and an RFC 8288 Link with next/prev.
    /// </summary>
    public static IReadOnlyList<T> WriteHeaders<T>(this Paged<T> page, HttpContext http)
    {
        var headers = http.Response.Headers;
        headers["X-Total-Count"] = page.Total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["X-Page"] = page.Page.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["X-Page-Size"] = page.PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var links = new List<string>();
        if (page.Page < page.Pages) links.Add($"<{Url(http, page.Page + 1, page.PageSize)}>; rel=\"next\"");
        if (page.Page > 1) links.Add($"<{Url(http, page.Page - 1, page.PageSize)}>; rel=\"prev\"");
        if (links.Count > 0) headers.Link = string.Join(", ", links);
        return page.Items;
    }

    private static string Url(HttpContext http, int page, int size)
    {
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(http.Request.QueryString.Value)
            .Where(q => !q.Key.Equals("page", StringComparison.OrdinalIgnoreCase) && !q.Key.Equals("pageSize", StringComparison.OrdinalIgnoreCase))
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
            .Append(new("page", page.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Append(new("pageSize", size.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return http.Request.PathBase + http.Request.Path + Microsoft.AspNetCore.Http.QueryString.Create(query);
    }
}
