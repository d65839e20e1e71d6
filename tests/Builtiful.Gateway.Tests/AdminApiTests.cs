using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Builtiful.Testing;

namespace Builtiful.Gateway.Tests;

public sealed class AdminApiTests(RunningBuiltiful builtiful) : IClassFixture<RunningBuiltiful>
{
    [Theory]
    [InlineData("/api/v1/jobs/1")]
    [InlineData("/api/v1/leases/7d3f0e3a-52c5-4a55-9d1c-3b1f6c1f4a10")]
    [InlineData("/api/v1/organisations/1")]
    [InlineData("/dashboard/")]
    public async Task Without_the_token_everything_but_health_is_401(string path)
    {
        using var anonymous = await builtiful.AdminGetAsync(path, token: null);
        using var wrong = await builtiful.AdminGetAsync(path, token: "guess");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task Health_needs_no_token()
    {
        using var response = await builtiful.AdminGetAsync("/healthz", token: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task The_dashboard_opens_with_the_token()
    {
        using var response = await builtiful.AdminGetAsync("/dashboard/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("html", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/v1/jobs/424242", "Job not found")]
    [InlineData("/api/v1/leases/7d3f0e3a-52c5-4a55-9d1c-3b1f6c1f4a10", "Lease not found")]
    [InlineData("/api/v1/organisations/424242", "Organisation not found")]
    public async Task Unknown_things_are_404_problem_details(string path, string title)
    {
        using var response = await builtiful.AdminGetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task The_login_form_trades_the_token_for_a_cookie_that_opens_the_dashboard()
    {
        using var handler = new HttpClientHandler { UseCookies = true, AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = builtiful.BaseAddress };

        using var refused = await browser.PostAsync("/login", new FormUrlEncodedContent([new("token", "guess")]));
        using var login = await browser.PostAsync("/login", new FormUrlEncodedContent([new("token", RunningBuiltiful.AdminToken)]));
        using var dashboard = await browser.GetAsync("/dashboard/");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
    }
}
