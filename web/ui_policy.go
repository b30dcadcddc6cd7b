package web

func (s *Server) policyPages() []Route { return nil }
