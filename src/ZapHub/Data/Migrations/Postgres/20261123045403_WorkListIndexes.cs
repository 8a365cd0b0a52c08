using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ZapHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class WorkListIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_GatewayEvents_ProcessedAt_Id",
                table: "GatewayEvents");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_ProviderMessageId",
                table: "Messages",
                column: "ProviderMessageId",
                filter: "\"ProviderMessageId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_GatewayEvents_Unprocessed",
                table: "GatewayEvents",
                column: "Id",
                filter: "\"ProcessedAt\" IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Messages_ProviderMessageId",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_GatewayEvents_Unprocessed",
                table: "GatewayEvents");

            migrationBuilder.CreateIndex(
                name: "IX_GatewayEvents_ProcessedAt_Id",
                table: "GatewayEvents",
                columns: new[] { "ProcessedAt", "Id" });
        }
    }
}
