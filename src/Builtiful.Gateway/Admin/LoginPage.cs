using Builtiful.Gateway.Audit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Builtiful.Gateway.Admin;

/// <summary>A browser cannot send a bearer header to the dashboard, so operators trade the token for an HttpOnly cookie here.</summary>
public static class LoginPage
{
    private const string Form = """
        <!doctype html><html><head><meta charset="utf-8"><title>Builtiful sign-in</title></head>
        <body style="font-family:sans-serif;max-width:28rem;margin:4rem auto">
        <h1>Builtiful</h1><form method="post" action="/login">
        <label>Admin token <input type="password" name="token" autocomplete="off" style="width:100%"></label>
        <p><button type="submit">Open the dashboard</button></p></form></body></html>
        """;

    public static IEndpointRouteBuilder MapLoginPage(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/login", () => Results.Content(Form, "text/html"));
        endpoints.MapPost("/login", async (HttpContext context, OperatorDirectory operators, IAuditLog audit) =>
        {
            if (!context.Request.HasFormContentType)
            {
                return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported content type", detail: "Sign in with the form: application/x-www-form-urlencoded.");
            }

            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var token = form["token"].ToString();
            if (operators.Find(token) is not { } identity)
            {
                audit.Record(OperatorAudit.Describe(context, StatusCodes.Status401Unauthorized));
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Wrong token", detail: "The admin token does not match.");
            }

            // Sign-ins are audited with the name the token belongs to, since the request itself carried no identity yet.
            audit.Record(OperatorAudit.Describe(context, StatusCodes.Status302Found) with { Actor = identity.Name, Role = identity.Role });
            context.Response.Cookies.Append(AdminTokenAuthentication.Cookie, token, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = "/",
            });
            return Results.Redirect("/dashboard/");
        }).DisableAntiforgery();
        return endpoints;
    }
}
