#include "raylet/clients.h"

#include <iostream>

namespace flare {

void SendToDrivers(ClientChannel& clients, const rpc::LogLines& lines) {
  const JobId job = JobId::FromBinary(lines.job_id());
  rpc::Message message;
  for (ClientId id : clients.All()) {
    const ClientInfo* client = clients.Find(id);
    if (client->kind == rpc::DRIVER && client->log_to_driver && client->job_id == job) {
      if (!message.has_log_lines()) *message.mutable_log_lines() = lines;
      clients.Send(id, message);
    }
  }
}

void SendToPeers(ClientChannel& clients, const rpc::LogLines& lines, const std::string& ip) {
  rpc::Message message;
  for (ClientId id : clients.All()) {
    const ClientInfo* client = clients.Find(id);
    if (client->kind != rpc::PEER) continue;
    if (!message.has_log_lines()) {
      rpc::LogLines* tagged = message.mutable_log_lines();
      *tagged = lines;
      std::string prefix = lines.prefix();
      if (!prefix.empty() && prefix.back() == ')') {
        prefix.insert(prefix.size() - 1, ", ip=" + ip);
      }
      tagged->set_prefix(prefix);
    }
    clients.Send(id, message);
  }
}

void LogToJob(ClientChannel& clients, const std::string& job_id, const std::string& line) {
  std::cerr << "flare-raylet: " << line << "\n";
  rpc::LogLines lines;
  lines.set_job_id(job_id);
  lines.set_prefix("(raylet)");
  lines.set_is_stderr(true);
  lines.add_lines(line);
  SendToDrivers(clients, lines);
}

void AskClientsToUnpin(ClientChannel& clients) {
  rpc::Message release;
  release.mutable_release_cached_pins();
  for (ClientId client : clients.All()) clients.Send(client, release);
}

}  // namespace flare
