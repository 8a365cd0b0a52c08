using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ZapHub.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class LeanerIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_PendingReceipts_ProviderMessageId",
                table: "PendingReceipts");

            migrationBuilder.DropIndex(
                name: "IX_PendingReceipts_SessionId_ProviderMessageId",
                table: "PendingReceipts");

            migrationBuilder.DropIndex(
                name: "IX_Messages_ProviderMessageId",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_SessionId_ProviderMessageId",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_TenantId_IdempotencyKey",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Events_Sequence",
                table: "Events");

            migrationBuilder.DropIndex(
                name: "IX_Events_TenantId_Sequence",
                table: "Events");

            migrationBuilder.CreateIndex(
                name: "IX_PendingReceipts_ProviderMessageId_SessionId",
                table: "PendingReceipts",
                columns: new[] { "ProviderMessageId", "SessionId" });

            migrationBuilder.CreateIndex(
                name: "IX_Messages_ProviderMessageId",
                table: "Messages",
                columns: new[] { "ProviderMessageId", "SessionId" },
                unique: true,
                filter: "\"ProviderMessageId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_TenantId_IdempotencyKey",
                table: "Messages",
                columns: new[] { "TenantId", "IdempotencyKey" },
                unique: true,
                filter: "\"IdempotencyKey\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Events_Sequence",
                table: "Events",
                column: "Sequence",
                filter: "\"Sequence\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Events_TenantId_Sequence",
                table: "Events",
                columns: new[] { "TenantId", "Sequence" },
                filter: "\"Sequence\" IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_PendingReceipts_ProviderMessageId_SessionId",
                table: "PendingReceipts");

            migrationBuilder.DropIndex(
                name: "IX_Messages_ProviderMessageId",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_TenantId_IdempotencyKey",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Events_Sequence",
                table: "Events");

            migrationBuilder.DropIndex(
                name: "IX_Events_TenantId_Sequence",
                table: "Events");

            migrationBuilder.CreateIndex(
                name: "IX_PendingReceipts_ProviderMessageId",
                table: "PendingReceipts",
                column: "ProviderMessageId");

            migrationBuilder.CreateIndex(
                name: "IX_PendingReceipts_SessionId_ProviderMessageId",
                table: "PendingReceipts",
                columns: new[] { "SessionId", "ProviderMessageId" });

            migrationBuilder.CreateIndex(
                name: "IX_Messages_ProviderMessageId",
                table: "Messages",
                column: "ProviderMessageId",
                filter: "\"ProviderMessageId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_SessionId_ProviderMessageId",
                table: "Messages",
                columns: new[] { "SessionId", "ProviderMessageId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Messages_TenantId_IdempotencyKey",
                table: "Messages",
                columns: new[] { "TenantId", "IdempotencyKey" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Events_Sequence",
                table: "Events",
                column: "Sequence");

            migrationBuilder.CreateIndex(
                name: "IX_Events_TenantId_Sequence",
                table: "Events",
                columns: new[] { "TenantId", "Sequence" });
        }
    }
}
