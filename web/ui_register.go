package web

func (s *Server) registerPages() []Route { return nil }
