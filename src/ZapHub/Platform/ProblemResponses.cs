using Microsoft.AspNetCore.Mvc;

namespace ZapHub.Platform;

/// <summary>A ProblemDetails answer written by middleware that stops a request before any endpoint runs.</summary>
public static class ProblemResponses
{
    public static Task WriteAsync(HttpContext context, int status, string title, string? detail = null, string? code = null)
    {
        context.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (code is not null) problem.Extensions["code"] = code;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).AsTask();
    }
}
